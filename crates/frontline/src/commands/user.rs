//! `frontline user …`: accounts from the command line (audited as `cli`).

use std::io::BufRead;

use anyhow::{bail, Context};
use frontline_domain::access::Role;
use frontline_domain::passwords::check_password;
use frontline_store::accounts::NewUser;
use frontline_store::{Actor, Store};
use frontline_web::api::accounts::valid_username;

use crate::cli::UserCommand;

/// The password for `username`: the first line of standard input (checked
/// against the password rule), or a generated one.
fn read_password(from_stdin: bool, username: &str) -> anyhow::Result<(String, bool)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password")?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        check_password(&pw, username).map_err(|problem| anyhow::anyhow!("password refused: {problem}"))?;
        Ok((pw, false))
    } else {
        Ok((generate_password(username)?, true))
    }
}

/// A random password for `username` that is easy to read aloud over the
/// phone: 4 groups of 4, drawn again in the rare case the password rule refuses it.
pub fn generate_password(username: &str) -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    loop {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let chars: Vec<char> = bytes.iter().map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char).collect();
        let password = chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-");
        if check_password(&password, username).is_ok() {
            return Ok(password);
        }
    }
}

/// A working group by its code.
async fn group_by_code(store: &Store, code: &str) -> anyhow::Result<frontline_store::accounts::Group> {
    store
        .list_groups()
        .await?
        .into_iter()
        .find(|g| g.code == code)
        .with_context(|| format!("no working group with code {code:?}"))
}

/// A membership refusal in words for the command line.
fn web_error(e: frontline_web::AppError, username: &str) -> anyhow::Error {
    match e {
        frontline_web::AppError::Invalid(fields) => match fields.first().map(|f| f.code.as_str()) {
            Some("not_member") => anyhow::anyhow!("{username} is not a member of that working group"),
            Some("not_found") => anyhow::anyhow!("no user {username}"),
            _ => anyhow::anyhow!("refused: {fields:?}"),
        },
        other => anyhow::anyhow!("{other}"),
    }
}

/// Runs a `user` subcommand.
pub async fn run(store: &Store, cmd: UserCommand) -> anyhow::Result<()> {
    let actor = Actor::system("cli");
    match cmd {
        UserCommand::Add { username, role, display_name, group, password_stdin } => {
            if !valid_username(&username) {
                bail!("user names are 3 to 40 letters, digits, '_', '.' or '-'");
            }
            let role = Role::from_code(&role).with_context(|| {
                format!("unknown role {role:?}; use one of: {}", Role::ALL.map(Role::code).join(", "))
            })?;
            let group_id = match group {
                None => None,
                Some(code) => Some(
                    store
                        .list_groups()
                        .await?
                        .into_iter()
                        .find(|g| g.code == code)
                        .map(|g| g.id)
                        .with_context(|| format!("no working group with code {code:?}"))?,
                ),
            };
            let (password, generated) = read_password(password_stdin, &username)?;
            let password_hash = frontline_web::auth::hash_password(password.clone()).await?;
            let new = NewUser {
                display_name: display_name.unwrap_or_else(|| username.clone()),
                username,
                password_hash,
                role,
                group_id,
            };
            let user = store.create_user(&actor, &new).await.map_err(|e| match e {
                frontline_store::StoreError::Conflict { .. } => anyhow::anyhow!("user {} already exists", new.username),
                other => other.into(),
            })?;
            println!("created {} ({})", user.username, user.role.code());
            if generated {
                println!("password: {password}");
            }
        }
        UserCommand::Team { username, team } => {
            let team = team.as_deref().map(str::trim).filter(|t| !t.is_empty());
            let user = store.set_user_team(&actor, &username, team).await.map_err(|e| match e {
                frontline_store::StoreError::NotFound => anyhow::anyhow!("no user {username}"),
                other => other.into(),
            })?;
            match &user.team {
                Some(t) => println!("{} is in team {t}", user.username),
                None => println!("{} is in no team", user.username),
            }
        }
        UserCommand::Group { username, group } => {
            let outcome = match group {
                Some(code) => {
                    let g = group_by_code(store, &code).await?;
                    frontline_web::groups::add_member(store, &actor, g.id, &username).await.map(|_| code)
                }
                None => {
                    let user = store.user_by_name(&username).await.with_context(|| format!("no user {username}"))?;
                    match user.group_id {
                        None => Ok(String::new()),
                        Some(g) => frontline_web::groups::remove_member(store, &actor, g, &username)
                            .await
                            .map(|_| String::new()),
                    }
                }
            };
            match outcome.map_err(|e| web_error(e, &username))?.as_str() {
                "" => println!("{username} is in no working group"),
                code => println!("{username} is in working group {code}"),
            }
        }
        UserCommand::Leader { group, username } => {
            let g = group_by_code(store, &group).await?;
            frontline_web::groups::set_leader(store, &actor, g.id, username.as_deref())
                .await
                .map_err(|e| web_error(e, username.as_deref().unwrap_or_default()))?;
            match username {
                Some(u) => println!("{u} leads working group {group}"),
                None => println!("working group {group} has no leader"),
            }
        }
        UserCommand::List => {
            for u in store.list_users().await? {
                let state = if u.disabled { "disabled" } else { "active" };
                let team = u.team.as_deref().unwrap_or("-");
                println!("{:<20} {:<12} {:<9} {:<10} {}", u.username, u.role.code(), state, team, u.display_name);
            }
        }
        UserCommand::Disable { username } => {
            store.set_user_disabled(&actor, &username, true).await.with_context(|| format!("no user {username}"))?;
            println!("disabled {username}");
        }
        UserCommand::Enable { username } => {
            store.set_user_disabled(&actor, &username, false).await.with_context(|| format!("no user {username}"))?;
            println!("enabled {username}");
        }
        UserCommand::ResetPassword { username, password_stdin } => {
            let (password, generated) = read_password(password_stdin, &username)?;
            let hash = frontline_web::auth::hash_password(password.clone()).await?;
            store.set_password(&actor, &username, &hash).await.with_context(|| format!("no user {username}"))?;
            println!("password reset for {username}");
            if generated {
                println!("password: {password}");
            }
        }
    }
    Ok(())
}
