# Made once per AWS account, by a person with administrator rights, before anything else:
#   - the S3 bucket that keeps every other root's Terraform state (versioned, encrypted,
#     private, TLS only; locking uses lock files in the same bucket);
#   - GitHub's OIDC identity provider, so workflows get short-lived credentials and no AWS
#     key is stored anywhere;
#   - one deploy role per environment, trusted only by this repository's workflows running
#     in that GitHub environment: dev from any branch, prod only from main.
# The roles start with no permissions: each environment root grants its own role exactly
# what deploying there takes (terraform/modules/environment/deploy.tf).
# This root's own state stays local (terraform.tfstate here, git-ignored): keep it safe.
terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      project    = "mlserving"
      managed-by = "terraform"
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id   = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  github_host  = "token.actions.githubusercontent.com"
  state_bucket = "mlserving-tfstate-${local.account_id}-${var.region}"
  repo         = "repo:${var.github_repository}"
}
