# The prod environment. State: S3 bucket from terraform/bootstrap (given at init time with
# -backend-config=backend.hcl), this environment's own key, S3-native locking.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }

  backend "s3" {
    key          = "mlserving/prod/terraform.tfstate"
    use_lockfile = true
    encrypt      = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project     = "mlserving"
      environment = "prod"
      managed-by  = "terraform"
    }
  }
}

module "environment" {
  source = "../../modules/environment"

  name             = "mlserving-prod"
  cname_prefix     = var.cname_prefix
  domain_name      = var.domain_name
  certificate_arn  = var.certificate_arn
  deploy_role_name = "mlserving-deploy-prod"

  # Always two instances in two zones, a standby database, and nothing deleted by accident.
  instance_type            = "t4g.medium"
  min_instances            = 2
  max_instances            = 6
  db_instance_class        = "db.t4g.medium"
  db_multi_az              = true
  db_deletion_protection   = true
  db_backup_retention_days = 14
  log_retention_days       = 90
  hsts_seconds             = 31536000
}
