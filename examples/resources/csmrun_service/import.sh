# A service built by hand or with the google provider: its NEG, backend service and HTTPRoute are
# discovered from the service, whatever their names. Any of these id forms works.
terraform import csmrun_service.target projects/my-project/locations/asia-northeast1/services/target
terraform import csmrun_service.target my-project/asia-northeast1/target
terraform import csmrun_service.target asia-northeast1/target
terraform import csmrun_service.target target
