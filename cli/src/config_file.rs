//! `--config FILE` for the long-running services: a TOML file of the same settings the flags
//! take, so an operator keeps one file per service (see `deploy/`).
//!
//! Precedence is flags, then `PARALLAX_*` environment variables, then the file: each key of the
//! file is exported as its flag's environment variable unless that variable is already set,
//! and clap then resolves flags and environment as usual. Keys are the long flag names
//! (`http-port` or `http_port`); an unknown key is an error, so a typo never passes silently.

use std::path::{Path, PathBuf};

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Not valid TOML.
    #[error("parsing {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error.
        source: toml::de::Error,
    },
    /// A key no flag of the command has.
    #[error("{path}: unknown setting `{key}` (known: {known})")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// The settings the command accepts.
        known: String,
    },
    /// A value that is not a string, number or boolean.
    #[error("{path}: setting `{key}` must be a string, number or boolean")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
}

/// The value of `--config FILE` / `--config=FILE` in `args` (after the subcommand), or of
/// `PARALLAX_CONFIG`.
pub fn config_path(args: &[String]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os("PARALLAX_CONFIG").map(PathBuf::from)
}

/// The environment assignments `file` makes for `command` (the subcommand's clap command),
/// skipping variables already set in the real environment.
pub fn environment_from_file(
    file: &Path,
    command: &clap::Command,
) -> Result<Vec<(String, String)>, ConfigFileError> {
    let text = std::fs::read_to_string(file).map_err(|source| ConfigFileError::Read {
        path: file.to_owned(),
        source,
    })?;
    environment_from_toml(&text, file, command)
}

fn environment_from_toml(
    text: &str,
    file: &Path,
    command: &clap::Command,
) -> Result<Vec<(String, String)>, ConfigFileError> {
    let table: toml::Table = toml::from_str(text).map_err(|source| ConfigFileError::Parse {
        path: file.to_owned(),
        source,
    })?;
    let settings: Vec<(String, String)> = command
        .get_arguments()
        .filter_map(|arg| {
            let long = arg.get_long()?;
            let env = arg.get_env()?.to_str()?;
            (long != "config").then(|| (long.to_owned(), env.to_owned()))
        })
        .collect();
    let mut out = Vec::new();
    for (key, value) in table {
        let flag = key.replace('_', "-");
        let Some((_, env)) = settings.iter().find(|(long, _)| *long == flag) else {
            return Err(ConfigFileError::UnknownKey {
                path: file.to_owned(),
                key,
                known: settings
                    .iter()
                    .map(|(long, _)| long.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        };
        let value = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(number) => number.to_string(),
            toml::Value::Float(number) => number.to_string(),
            toml::Value::Boolean(flag) => flag.to_string(),
            _ => {
                return Err(ConfigFileError::BadValue {
                    path: file.to_owned(),
                    key,
                })
            }
        };
        if std::env::var_os(env).is_none() {
            out.push((env.clone(), value));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use clap::{Arg, Command};

    use super::*;

    fn command() -> Command {
        Command::new("service")
            .arg(
                Arg::new("http-port")
                    .long("http-port")
                    .env("PARALLAX_TEST_CF_PORT"),
            )
            .arg(
                Arg::new("datadir")
                    .long("datadir")
                    .env("PARALLAX_TEST_CF_DATADIR"),
            )
            .arg(Arg::new("config").long("config").env("PARALLAX_CONFIG"))
    }

    #[test]
    fn keys_become_environment_unless_already_set() {
        let env = environment_from_toml(
            "http_port = 9000\ndatadir = \"/var/lib/x\"\n",
            Path::new("f.toml"),
            &command(),
        )
        .unwrap();
        assert_eq!(
            env,
            [
                (
                    "PARALLAX_TEST_CF_DATADIR".to_owned(),
                    "/var/lib/x".to_owned()
                ),
                ("PARALLAX_TEST_CF_PORT".to_owned(), "9000".to_owned()),
            ]
        );
    }

    #[test]
    fn typos_and_tables_are_refused() {
        let error =
            environment_from_toml("http-prot = 1", Path::new("f.toml"), &command()).unwrap_err();
        assert!(
            error.to_string().contains("unknown setting `http-prot`"),
            "{error}"
        );
        assert!(error.to_string().contains("http-port, datadir"), "{error}");
        assert!(
            environment_from_toml("[datadir]\nx = 1", Path::new("f.toml"), &command()).is_err()
        );
        assert!(environment_from_toml("config = \"x\"", Path::new("f.toml"), &command()).is_err());
        assert!(environment_from_toml("not toml", Path::new("f.toml"), &command()).is_err());
    }

    #[test]
    fn finds_the_path_in_either_spelling() {
        let args = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            config_path(&args(&["sequencer", "--config", "a.toml"])),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path(&args(&["sequencer", "--config=b.toml"])),
            Some(PathBuf::from("b.toml"))
        );
    }
}
