//! `gatehouse alerts list|ack|mute|unmute|quiet-hours|denial-burst`: the
//! alerts the rules raise from the audit log. Listing evaluates the records
//! written since the last pass first, so alerts exist without the app.

use anyhow::{Context, bail};
use gatehouse_engine::alerts::{AlertAck, AlertRule, DenialBurst, QuietHours};
use gatehouse_engine::audit::recover_spools;
use gatehouse_engine::{DataDir, Store};

use crate::cli::AlertsCommand;
use crate::output;

pub fn run(cmd: AlertsCommand, json: bool) -> anyhow::Result<()> {
    let dir = DataDir::from_env()?;
    let mut store = Store::open(&dir)?;
    match cmd {
        AlertsCommand::List { rules: true, .. } => {
            let rules = store.alerts_rules()?;
            if json {
                return output::json(&rules);
            }
            let rows: Vec<Vec<String>> = rules
                .iter()
                .map(|r| {
                    vec![
                        r.rule.as_str().into(),
                        if r.muted { "muted" } else { "on" }.into(),
                        r.setting.clone().unwrap_or_else(|| "-".into()),
                        r.description.clone(),
                    ]
                })
                .collect();
            output::table(&["RULE", "STATE", "SETTING", "WATCHES FOR"], &rows)
        }
        AlertsCommand::List { all, .. } => {
            // Records of proxies that died are evidence too.
            recover_spools(&dir, &mut store)
                .context("importing the spools of proxies that ended")?;
            store.alerts_evaluate()?;
            let alerts = store.alerts(all)?;
            if json {
                return output::json(&alerts);
            }
            if alerts.is_empty() {
                println!("{}", if all { "no alerts" } else { "no open alerts" });
                return Ok(());
            }
            let rows: Vec<Vec<String>> = alerts
                .iter()
                .map(|a| {
                    let records: Vec<String> = a
                        .records
                        .iter()
                        .map(|r| {
                            if r.kept {
                                r.id.to_string()
                            } else {
                                format!("{} (deleted)", r.id)
                            }
                        })
                        .collect();
                    let mut row = vec![
                        a.id.to_string(),
                        a.time.clone(),
                        a.rule.as_str().into(),
                        a.server.clone().unwrap_or_else(|| "-".into()),
                        a.summary.clone(),
                        records.join(","),
                    ];
                    if all {
                        row.push(
                            if a.acked_at.is_some() {
                                "acked"
                            } else {
                                "open"
                            }
                            .into(),
                        );
                    }
                    row
                })
                .collect();
            let mut header = vec!["ID", "TIME", "RULE", "SERVER", "SUMMARY", "RECORDS"];
            if all {
                header.push("STATE");
            }
            output::table(&header, &rows)
        }
        AlertsCommand::Ack { ids, all } => {
            let which = if all {
                AlertAck::All
            } else {
                AlertAck::Ids(ids)
            };
            let n = store.alerts_ack(&which)?;
            println!("acknowledged {n} alert{}", if n == 1 { "" } else { "s" });
            Ok(())
        }
        AlertsCommand::Mute { rule } => {
            store.alerts_mute(parse_rule(&rule)?, true)?;
            println!("{rule}: muted (it raises no alerts until `gatehouse alerts unmute {rule}`)");
            Ok(())
        }
        AlertsCommand::Unmute { rule } => {
            store.alerts_mute(parse_rule(&rule)?, false)?;
            println!("{rule}: raises alerts again");
            Ok(())
        }
        AlertsCommand::QuietHours { window } => {
            if window.eq_ignore_ascii_case("off") {
                store.set_alerts_quiet_hours(None)?;
                println!("quiet hours: off");
            } else {
                let quiet = QuietHours::parse(&window)?;
                store.set_alerts_quiet_hours(Some(quiet))?;
                println!("quiet hours: {quiet} local time");
            }
            Ok(())
        }
        AlertsCommand::DenialBurst { burst } => {
            let burst = DenialBurst::parse(&burst)?;
            store.set_alerts_denial_burst(burst)?;
            println!(
                "an alert when {} calls are refused within {} s",
                burst.count, burst.secs
            );
            Ok(())
        }
    }
}

fn parse_rule(name: &str) -> anyhow::Result<AlertRule> {
    match AlertRule::parse(name) {
        Some(rule) => Ok(rule),
        None => {
            let names: Vec<&str> = AlertRule::ALL.iter().map(|r| r.as_str()).collect();
            bail!(
                "no alert rule named {name:?}; the rules are: {}",
                names.join(", ")
            )
        }
    }
}
