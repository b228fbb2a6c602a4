fn main() {
    eprintln!("terraform-provider-csmrun: this binary is a Terraform plugin");
    std::process::exit(1);
}
