//! The tools, offline: `sam validate --lint`, `cfn-lint`, and `sam build` producing the three
//! functions' arm64 `bootstrap`s through cargo lambda.

use std::path::PathBuf;
use std::process::Command;

use hookloop_tests::repo_root;

fn venv_tool(name: &str) -> Command {
    let bin = repo_root().join(".venv/bin");
    assert!(
        bin.join(name).exists(),
        "{name} missing: run `make setup` (make test does)"
    );
    let mut cmd = Command::new(bin.join(name));
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    cmd.current_dir(repo_root())
        .env("PATH", path)
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "offline")
        .env("AWS_SECRET_ACCESS_KEY", "offline");
    cmd
}

#[test]
fn sam_validate_lint_and_cfn_lint_pass_with_no_warnings() {
    let out = venv_tool("sam")
        .args([
            "validate",
            "--lint",
            "--template-file",
            "infra/template.yaml",
        ])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.contains("is a valid SAM Template"),
        "{text}"
    );
    let out = venv_tool("cfn-lint")
        .arg("infra/template.yaml")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && text.trim().is_empty(),
        "cfn-lint findings:\n{text}"
    );
}

/// ELF, 64-bit, machine 183 (AArch64).
fn is_arm64_elf(path: &PathBuf) -> bool {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.len() > 20
        && &bytes[..4] == b"\x7fELF"
        && bytes[4] == 2
        && u16::from_le_bytes([bytes[18], bytes[19]]) == 183
}

#[test]
fn sam_build_produces_the_three_arm64_bootstraps_through_cargo_lambda() {
    // SAM writes .aws-sam/ where it runs: run it from a scratch directory, never the repository.
    let work_dir = std::env::temp_dir().join(format!("hookloop-sam-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&work_dir).unwrap();
    let build_dir = work_dir.join("build");
    // What this proves is the tooling: SAM's cargo-lambda build method turns the template's
    // three functions into arm64 bootstraps. Link-time optimisation over one codegen unit (the
    // deployed profile) would add minutes to every run after a code change and proves nothing
    // more here; `make build` and `make bench` (zip sizes, cold start) use the deployed profile.
    let out = venv_tool("sam")
        .current_dir(&work_dir)
        .env("CARGO_PROFILE_RELEASE_LTO", "false")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16")
        .args(["build", "--beta-features", "--template-file"])
        .arg(repo_root().join("infra/template.yaml"))
        .arg("--build-dir")
        .arg(&build_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sam build failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for function in ["IngestFunction", "ProcessorFunction", "CompactorFunction"] {
        let bootstrap = build_dir.join(function).join("bootstrap");
        assert!(
            is_arm64_elf(&bootstrap),
            "{} is not an arm64 executable",
            bootstrap.display()
        );
    }
    let _ = std::fs::remove_dir_all(&work_dir);
}

/// What `sam local invoke` reads of each function, from SAM CLI's own template resolution
/// (parameters at their defaults): every function's `Layers` resolves to a list of ARNs. An
/// intrinsic SAM CLI leaves unresolved (an `Fn::If` with an `AWS::NoValue` branch) is read as a
/// layer ARN and every `sam local invoke` fails ("Fn::If is an Invalid Layer Arn"), which
/// otherwise only the long `sam_local` test would show.
#[test]
fn sam_local_resolves_every_functions_layers_with_the_default_parameters() {
    const RESOLVE: &str = r#"
import json, sys
from samcli.lib.providers.sam_base_provider import SamBaseProvider
from samcli.yamlhelper import yaml_parse
t = SamBaseProvider.get_resolved_template_dict(yaml_parse(open(sys.argv[1]).read()), {})
print(json.dumps({k: r["Properties"].get("Layers", []) for k, r in t["Resources"].items()
                  if r["Type"] == "AWS::Serverless::Function"}))
"#;
    let out = venv_tool("python")
        .args(["-c", RESOLVE, "infra/template.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let layers: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(text.trim()).expect("JSON");
    assert_eq!(layers.len(), 3, "{layers:?}");
    for (function, l) in &layers {
        assert!(
            l.as_array()
                .is_some_and(|a| a.iter().all(|x| x.is_string())),
            "{function}: Layers resolves to {l}"
        );
    }
}

/// The commands `make -n args` prints (what the targets would run).
fn make_n(args: &[&str]) -> String {
    let out = Command::new("make")
        .arg("-n")
        .args(args)
        .current_dir(repo_root())
        .output()
        .expect("make -n");
    assert!(
        out.status.success(),
        "make -n {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `make build` and `make deploy-fn` build each function exactly as `sam build` does (from the
/// template's `CodeUri`, `--arm64 --bin <Binary>`, nothing else), so the three share one arm64
/// build per function: another way of building would add a feature set and rebuild every
/// dependency in each `make test`.
#[test]
fn make_build_and_deploy_fn_build_each_function_as_sam_build_does() {
    let t = crate::template::template();
    let build = make_n(&["build"]);
    let functions = crate::template::resources_of(&t, "AWS::Serverless::Function");
    assert_eq!(functions.len(), 3);
    for (id, f) in functions {
        let code = f["Properties"]["CodeUri"].as_str().expect("CodeUri");
        let crate_dir = code
            .strip_prefix("../")
            .expect("CodeUri relative to infra/");
        let binary = f["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("Binary");
        assert_eq!(f["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        let how = format!(
            "(cd {crate_dir} && PATH={}/.venv/bin:$PATH cargo lambda build --release --arm64 --bin {binary})",
            repo_root().display()
        );
        assert!(
            build.contains(&how),
            "make build builds {id} as `{how}`:\n{build}"
        );
        let name = binary.strip_prefix("hookloop-").expect("hookloop-<name>");
        let deploy_fn = make_n(&["deploy-fn", &format!("FUNCTION={name}")]);
        assert!(
            deploy_fn.contains(&how),
            "make deploy-fn builds {id} as `{how}`:\n{deploy_fn}"
        );
        assert_eq!(
            deploy_fn.matches("cargo lambda build").count(),
            1,
            "only {binary}"
        );
    }
}

/// `make test` runs every test target of the workspace, each in one lane (its lanes name their
/// integration tests from file names, so a target declared any other way could be left out), and
/// every lane as `cargo test --workspace` (one feature set: nothing built twice).
#[test]
fn make_tests_lanes_run_every_test_target_once() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(repo_root())
        .output()
        .expect("cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata JSON");
    let declared: std::collections::BTreeSet<String> = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "test"))
        })
        .filter_map(|t| t["name"].as_str().map(str::to_owned))
        .collect();
    assert!(
        declared.len() > 20,
        "the workspace's test targets: {declared:?}"
    );

    let mut in_lanes: Vec<String> = Vec::new();
    let mut rest = String::new();
    for lane in ["test-lane-faults", "test-lane-deploy", "test-lane-rest"] {
        let commands = make_n(&["--no-print-directory", lane]);
        for line in commands.lines() {
            assert!(
                line.contains("cargo test --locked --workspace"),
                "{lane}: {line}"
            );
            let words: Vec<&str> = line.split_whitespace().collect();
            in_lanes.extend(
                words
                    .windows(2)
                    .filter(|w| w[0] == "--test")
                    .map(|w| w[1].to_owned()),
            );
        }
        if lane == "test-lane-rest" {
            rest = commands;
        }
    }
    let mut once = in_lanes.clone();
    once.sort();
    once.dedup();
    assert_eq!(
        once.len(),
        in_lanes.len(),
        "a target in two lanes: {in_lanes:?}"
    );
    assert_eq!(
        once.into_iter().collect::<std::collections::BTreeSet<_>>(),
        declared,
        "the lanes' targets are the workspace's test targets"
    );
    assert!(
        rest.contains("--lib --bins") && rest.lines().any(|l| l.trim_end().ends_with("--doc")),
        "the last lane also runs the unit tests and the doc tests: {rest}"
    );
}
