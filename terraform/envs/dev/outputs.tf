output "url" {
  description = "Where the app answers."
  value       = module.environment.url
}

output "github_variables" {
  description = "Set these on the GitHub environment (terraform/README.md shows how)."
  value       = module.environment.github_variables
}

output "database_secret_arn" {
  description = "The RDS-managed master password (Secrets Manager)."
  value       = module.environment.database_secret_arn
}
