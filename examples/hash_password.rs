//! Prints the argon2id PHC string of a password read from standard input, with guichet's
//! default (OWASP) parameters, for the `password_hash` field of the accounts file.
//!
//! ```sh
//! printf '%s' 'Bonjour-Marie-2026' | cargo run --example hash_password
//! ```

use std::io::Read;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut typed = String::new();
    std::io::stdin().read_to_string(&mut typed)?;
    let typed = typed.strip_suffix('\n').unwrap_or(&typed);
    let hasher = guichet::password::Hasher::new(&guichet::config::PasswordConfig::default())
        .expect("valid parameters");
    let password = hasher.password(typed)?;
    println!("{}", hasher.hash(&password).await?);
    Ok(())
}
