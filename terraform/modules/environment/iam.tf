# The instances' role: the platform's web-tier basics (logs, health, its own buckets),
# Session Manager, and read access to exactly this environment's secrets, key and bundles.
resource "aws_iam_role" "instance" {
  name               = "${var.name}-instance"
  assume_role_policy = data.aws_iam_policy_document.instance_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "instance_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy_attachment" "instance_web_tier" {
  role       = aws_iam_role.instance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSElasticBeanstalkWebTier"
}

# Shell access for people without SSH keys or open ports: Session Manager (aws ssm
# start-session), logged in CloudTrail. How to run manage.py there: terraform/README.md.
resource "aws_iam_role_policy_attachment" "instance_session_manager" {
  role       = aws_iam_role.instance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy" "instance_secrets" {
  name   = "read-own-secrets"
  role   = aws_iam_role.instance.id
  policy = data.aws_iam_policy_document.instance_secrets.json
}

data "aws_iam_policy_document" "instance_secrets" {
  statement {
    sid       = "DatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_db_instance.this.master_user_secret[0].secret_arn]
  }

  statement {
    sid       = "DjangoSecretKey"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.django_secret_key.arn]
  }

  statement {
    sid       = "DecryptThem"
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.this.arn]
  }

  statement {
    sid       = "ReadBundles"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.versions.arn}/*"]
  }
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name}-instance"
  role = aws_iam_role.instance.name
  tags = local.tags
}

# Elastic Beanstalk's service role: enhanced health and managed platform updates, plus
# deleting this environment's old bundles (application version lifecycle).
resource "aws_iam_role" "service" {
  name               = "${var.name}-eb-service"
  assume_role_policy = data.aws_iam_policy_document.service_trust.json
  tags               = local.tags
}

data "aws_iam_policy_document" "service_trust" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["elasticbeanstalk.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = ["elasticbeanstalk"]
    }
  }
}

resource "aws_iam_role_policy_attachment" "service_health" {
  role       = aws_iam_role.service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AWSElasticBeanstalkEnhancedHealth"
}

resource "aws_iam_role_policy_attachment" "service_managed_updates" {
  role       = aws_iam_role.service.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/AWSElasticBeanstalkManagedUpdatesCustomerRolePolicy"
}

resource "aws_iam_role_policy" "service_bundles" {
  name   = "expire-own-bundles"
  role   = aws_iam_role.service.id
  policy = data.aws_iam_policy_document.service_bundles.json
}

data "aws_iam_policy_document" "service_bundles" {
  statement {
    actions   = ["s3:DeleteObject", "s3:GetObject"]
    resources = ["${aws_s3_bucket.versions.arn}/*"]
  }
}
