//! The short soak (CI variant of `parallax soak`): 60 s of transfer load through the real binary
//! on loopback, with the sequencer, the replica, the batcher and the proposer (each its own
//! process) SIGKILLed and restarted on a fixed seed's schedule, every one at least once. Every
//! check of the soak must pass: no accepted transaction lost, the replica equal to the sequencer
//! up to the safe head, every block's batch on L1 exactly once, every output proposal equal to
//! the replica's output root, in sequence, none sent twice.

use std::process::Command;

#[test]
fn short_soak_survives_sigkills_of_every_process() {
    let Some(anvil) = parallax_contracts::anvil_for_tests() else {
        return;
    };
    let datadir = tempfile::tempdir().expect("temporary directory");
    let output = Command::new(env!("CARGO_BIN_EXE_parallax"))
        .args(["soak", "--duration", "60s", "--seed", "7", "--rate", "30"])
        // Four processes to kill in 60 s: at most 9 s between faults (+ up to 3 s down) leaves
        // room for at least four even when every pause is the longest.
        .args(["--min-fault-interval", "5", "--max-fault-interval", "9"])
        .args(["--settle-timeout", "120", "--json"])
        .arg("--datadir")
        .arg(datadir.path())
        .env("PARALLAX_ANVIL", anvil)
        .output()
        .expect("running parallax soak");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|error| {
        panic!(
            "no JSON report ({error}); stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let pretty = serde_json::to_string_pretty(&report).unwrap_or_default();
    assert!(
        output.status.success() && report["passed"] == true,
        "soak failed ({}):\n{pretty}",
        output.status
    );
    // The run did what it claims: real load, every kind of crash, every check.
    let load = &report["load"];
    let accepted = load["accepted"].as_u64().unwrap_or(0);
    assert!(accepted >= 1_000, "too little load:\n{pretty}");
    assert_eq!(load["included"].as_u64(), Some(accepted), "{pretty}");
    let faults = &report["faults"];
    for process in ["sequencer", "replica", "batcher", "proposer"] {
        let kills = faults[format!("{process}_kills")].as_u64();
        assert!(
            kills >= Some(1),
            "the {process} was never killed:\n{pretty}"
        );
    }
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    assert_eq!(checks.len(), 5, "{pretty}");
    let proposals = checks
        .iter()
        .find(|check| check["name"] == "every proposal correct, in sequence, sent once")
        .unwrap_or_else(|| panic!("no proposal check:\n{pretty}"));
    assert_eq!(proposals["passed"], true, "{pretty}");
    assert!(report["safe_head"].as_u64() >= Some(60), "{pretty}");
}
