variable "region" {
  description = "AWS region of this environment (the bootstrap's region)."
  type        = string
}

variable "cname_prefix" {
  description = "The app answers at <cname_prefix>.<region>.elasticbeanstalk.com; must be free in the region."
  type        = string
}

variable "domain_name" {
  description = "Your own host name for the app, or null."
  type        = string
  default     = null
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name (same region): turns on HTTPS, or null."
  type        = string
  default     = null
}
