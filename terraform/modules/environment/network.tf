# The account's default VPC unless told otherwise: instances get public addresses (no
# NAT gateway to pay for) but accept traffic only from the load balancer, and the
# database has no public address and accepts only the instances.

data "aws_vpc" "default" {
  count   = var.vpc_id == null ? 1 : 0
  default = true
}

locals {
  vpc_id = var.vpc_id != null ? var.vpc_id : data.aws_vpc.default[0].id
}

data "aws_subnets" "vpc" {
  filter {
    name   = "vpc-id"
    values = [local.vpc_id]
  }
}

locals {
  subnet_ids = length(var.subnet_ids) > 0 ? var.subnet_ids : sort(data.aws_subnets.vpc.ids)
}

# The instances. Elastic Beanstalk adds its own group that lets the load balancer in on
# port 80; this one is what the database trusts.
resource "aws_security_group" "web" {
  #checkov:skip=CKV2_AWS_5:Attached to the instances through the Elastic Beanstalk setting aws:autoscaling:launchconfiguration/SecurityGroups, which checkov cannot follow.
  name        = "${var.name}-web"
  description = "${var.name} web and worker instances"
  vpc_id      = local.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-web" })

  # Rules are separate resources below: Terraform removes the default allow-all egress.
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "web_to_https" {
  security_group_id = aws_security_group.web.id
  description       = "HTTPS: AWS APIs, and the package index while deploying"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "web_to_database" {
  security_group_id            = aws_security_group.web.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

# The database: PostgreSQL from the web instances, nothing else, no way out.
resource "aws_security_group" "database" {
  name        = "${var.name}-database"
  description = "${var.name} PostgreSQL: only from the web instances"
  vpc_id      = local.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-database" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_web" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the web instances only"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.web.id
}
