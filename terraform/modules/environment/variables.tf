variable "name" {
  description = "Name of everything this environment creates, e.g. mlserving-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}$", var.name))
    error_message = "name: 3 to 31 lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "cname_prefix" {
  description = "Elastic Beanstalk CNAME prefix: the app answers at <prefix>.<region>.elasticbeanstalk.com (unique per region)."
  type        = string
}

variable "domain_name" {
  description = "Your own host name for the app (a CNAME or alias to the environment), or null."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate ARN for domain_name: when set, the load balancer listens on HTTPS 443 and Django turns on HTTPS-only cookies, redirects and HSTS."
  type        = string
  default     = null
}

variable "hsts_seconds" {
  description = "HSTS max-age sent over HTTPS (only with a certificate)."
  type        = number
  default     = 3600
}

variable "deploy_role_name" {
  description = "Name of this environment's GitHub Actions deploy role (made by terraform/bootstrap); it gets exactly the rights to deploy here."
  type        = string
}

variable "vpc_id" {
  description = "VPC to run in; null uses the account's default VPC."
  type        = string
  default     = null
}

variable "subnet_ids" {
  description = "Subnets (at least two availability zones) for the load balancer, instances and database; empty uses every subnet of the VPC."
  type        = list(string)
  default     = []
}

variable "instance_type" {
  description = "EC2 instance type of the web/worker instances (Graviton: every dependency has arm64 wheels)."
  type        = string
  default     = "t4g.small"
}

variable "min_instances" {
  description = "Auto scaling minimum."
  type        = number
  default     = 1
}

variable "max_instances" {
  description = "Auto scaling maximum."
  type        = number
  default     = 2

  validation {
    condition     = var.max_instances >= 1
    error_message = "max_instances must be at least 1."
  }
}

variable "web_concurrency" {
  description = "gunicorn worker processes per instance (WEB_CONCURRENCY)."
  type        = number
  default     = 2
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.micro"
}

variable "db_engine_version" {
  description = "PostgreSQL major version (minor versions upgrade automatically)."
  type        = string
  default     = "17"
}

variable "db_allocated_storage_gb" {
  description = "Initial database storage; it grows automatically up to db_max_allocated_storage_gb."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling."
  type        = number
  default     = 100
}

variable "db_multi_az" {
  description = "A standby database in a second availability zone (doubles the database's cost)."
  type        = bool
  default     = false
}

variable "db_deletion_protection" {
  description = "Refuse to delete the database, and keep a final snapshot when it is deleted anyway."
  type        = bool
  default     = false
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery)."
  type        = number
  default     = 7
}

variable "secret_key_version" {
  description = "Bump to generate a new DJANGO_SECRET_KEY (signs everyone out)."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the instances' logs."
  type        = number
  default     = 30
}

variable "extra_environment" {
  description = "More environment properties for the app (MLSERVE_*, DJANGO_LOG_LEVEL, ...). Never secrets: those live in Secrets Manager or SSM."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([
      for key in keys(var.extra_environment) :
      !can(regex("(?i)(SECRET|PASSWORD|TOKEN|DATABASE_URL$)", key))
    ])
    error_message = "extra_environment is for settings, not secrets: put secrets in SSM or Secrets Manager."
  }
}

variable "tags" {
  description = "Tags on every resource (besides the provider's default tags)."
  type        = map(string)
  default     = {}
}
