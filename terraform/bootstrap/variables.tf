variable "region" {
  description = "AWS region for the state bucket (and, by convention, the environments)."
  type        = string
}

variable "github_repository" {
  description = "The GitHub repository allowed to deploy, as owner/name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name, with no wildcard."
  }
}

variable "create_github_oidc_provider" {
  description = "Create GitHub's OIDC provider; false if this account already has one (there can be only one per URL)."
  type        = bool
  default     = true
}
