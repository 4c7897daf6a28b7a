//! The production configs in `deploy/config/` are accepted by the `parallax` binary: every key
//! must be a flag of its subcommand (the config loader refuses unknown keys), checked by
//! loading each file and asking for `--help`, which parses nothing else.

use std::{path::Path, process::Command};

#[test]
fn every_deploy_config_is_accepted_by_its_subcommand() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("deploy/config exists") {
        let path = entry.expect("entry").path();
        if path.extension().and_then(|ext| ext.to_str()) != Some("toml") {
            continue;
        }
        // The first line names the command: `# parallax <subcommand> --config …`.
        let text = std::fs::read_to_string(&path).expect("readable");
        let subcommand = text
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# parallax "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| {
                panic!(
                    "{} does not start with `# parallax <command>`",
                    path.display()
                )
            })
            .to_owned();
        let output = Command::new(env!("CARGO_BIN_EXE_parallax"))
            .arg(&subcommand)
            .arg("--config")
            .arg(&path)
            .arg("--help")
            .env_remove("PARALLAX_CONFIG")
            .output()
            .expect("parallax runs");
        assert!(
            output.status.success(),
            "{} refused by `parallax {subcommand}`: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        checked.push(subcommand);
    }
    checked.sort();
    assert_eq!(checked, ["batcher", "challenger", "sequencer", "sequencer"]);
}

#[test]
fn a_config_key_that_is_no_flag_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    for subcommand in ["sequencer", "batcher", "challenger"] {
        let path = dir.path().join(format!("{subcommand}.toml"));
        std::fs::write(&path, "l1-rpcc = \"http://typo\"\n").expect("written");
        let output = Command::new(env!("CARGO_BIN_EXE_parallax"))
            .args([subcommand, "--config"])
            .arg(&path)
            .arg("--help")
            .env_remove("PARALLAX_CONFIG")
            .output()
            .expect("parallax runs");
        assert!(
            !output.status.success(),
            "`parallax {subcommand}` took a typo"
        );
        assert!(String::from_utf8_lossy(&output.stderr).contains("l1-rpcc"));
    }
}
