# The dev environment. State: S3 bucket from terraform/bootstrap (given at init time with
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
    key          = "mlserving/dev/terraform.tfstate"
    use_lockfile = true
    encrypt      = true
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project     = "mlserving"
      environment = "dev"
      managed-by  = "terraform"
    }
  }
}

module "environment" {
  source = "../../modules/environment"

  name             = "mlserving-dev"
  cname_prefix     = var.cname_prefix
  domain_name      = var.domain_name
  certificate_arn  = var.certificate_arn
  deploy_role_name = "mlserving-deploy-dev"

  # Small and disposable: one instance (up to two), the smallest database, no standby.
  instance_type          = "t4g.small"
  min_instances          = 1
  max_instances          = 2
  db_instance_class      = "db.t4g.micro"
  db_multi_az            = false
  db_deletion_protection = false
  log_retention_days     = 14
}
