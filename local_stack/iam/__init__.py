"""IAM in the local stack (DESIGN.md §7): every call a function makes is judged against its own
role's policies, as CloudFormation would deploy them, and refused with AWS's AccessDenied when they
do not allow it."""
