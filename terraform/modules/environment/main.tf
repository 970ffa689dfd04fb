# One ML Serving environment: Elastic Beanstalk (web + worker processes on every instance,
# behind a load balancer, auto scaling) and RDS PostgreSQL, with its own bucket for
# application versions, its own KMS key, and its secrets in Secrets Manager and SSM.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition
  tags       = merge({ "mlserving:environment" = var.name }, var.tags)
}

# The key that encrypts this environment's secrets, database, performance insights and
# application versions. Rotated yearly by AWS.
resource "aws_kms_key" "this" {
  description             = "${var.name}: secrets, database and application versions"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = local.tags
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

# The account administers the key through IAM (the default key policy); services use it
# through IAM policies that name this key (see iam.tf).
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_109:A key policy's Resource "*" means this key only; the account root must keep administering it or the key becomes unmanageable.
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" means this key only; write access is limited to this account's IAM principals.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" means this key only.
  statement {
    sid       = "AccountAdministersThroughIAM"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}
