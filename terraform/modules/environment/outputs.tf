output "application_name" {
  description = "Elastic Beanstalk application (GitHub variable EB_APPLICATION)."
  value       = aws_elastic_beanstalk_application.this.name
}

output "environment_name" {
  description = "Elastic Beanstalk environment (GitHub variable EB_ENVIRONMENT)."
  value       = aws_elastic_beanstalk_environment.this.name
}

output "versions_bucket" {
  description = "Bucket the deploy workflow uploads bundles to (GitHub variable EB_VERSIONS_BUCKET)."
  value       = aws_s3_bucket.versions.bucket
}

output "url" {
  description = "Where the app answers (GitHub variable APP_URL)."
  value       = local.url
}

output "deploy_role_arn" {
  description = "Role the deploy workflow assumes (GitHub variable AWS_DEPLOY_ROLE_ARN)."
  value       = data.aws_iam_role.deploy.arn
}

output "database_secret_arn" {
  description = "Secrets Manager secret with the RDS master user's name and password (managed by RDS)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "github_variables" {
  description = "Variables for this environment's GitHub environment (see terraform/README.md)."
  value = {
    AWS_REGION          = local.region
    AWS_DEPLOY_ROLE_ARN = data.aws_iam_role.deploy.arn
    EB_APPLICATION      = aws_elastic_beanstalk_application.this.name
    EB_ENVIRONMENT      = aws_elastic_beanstalk_environment.this.name
    EB_VERSIONS_BUCKET  = aws_s3_bucket.versions.bucket
    APP_URL             = local.url
  }
}
