output "state_bucket" {
  description = "Bucket holding the environments' Terraform state."
  value       = aws_s3_bucket.state.bucket
}

output "backend_hcl" {
  description = "Contents of terraform/envs/<env>/backend.hcl (terraform init -backend-config=backend.hcl)."
  value       = <<-EOT
    bucket     = "${aws_s3_bucket.state.bucket}"
    region     = "${var.region}"
    kms_key_id = "${aws_kms_key.state.arn}"
  EOT
}

output "deploy_role_arns" {
  description = "Deploy role per environment: the GitHub variable AWS_DEPLOY_ROLE_ARN of development and production."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}
