//! SIGHUP: re-read the configuration file and templates, between passes.
//!
//! The new configuration is validated and built in full (keys, templates,
//! tracker, mailer) before anything is swapped, so a broken edit leaves the
//! running configuration in place and says why (keys, never values). The
//! open store stays: records in flight are untouched, and `state_dir` and
//! `metrics.listen` changes need a restart.

use super::{build_pipeline_with, build_source, notify, ReconnectCounter};
use crate::config::Settings;
use crate::intake::Source;
use crate::ops::metrics;
use crate::pipeline::Pipeline;

pub(super) async fn apply(
    settings: &mut Settings,
    pipeline: &mut Pipeline,
    source: &mut Source,
    reconnects: &mut ReconnectCounter,
) {
    notify::reloading();
    tracing::info!("reloading configuration");
    match load(settings, pipeline) {
        Ok((new_settings, new_pipeline)) => {
            reconnects.account(source);
            source.close().await;
            *source = build_source(&new_settings);
            reconnects.replaced();
            metrics::global().configure(&new_pipeline.tracker, &new_pipeline.mailer);
            *pipeline = new_pipeline;
            *settings = new_settings;
            tracing::info!("configuration reloaded");
            notify::ready("configuration reloaded");
        }
        Err(why) => {
            tracing::error!(error = %why, "reload failed; the running configuration stays");
            notify::ready("reload failed; running on the previous configuration");
        }
    }
}

fn load(current: &Settings, pipeline: &Pipeline) -> Result<(Settings, Pipeline), String> {
    let mut new = Settings::load(&current.config_path).map_err(|e| {
        // Problems name keys and say what is wrong, never values.
        e.problems
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    if new.instance.state_dir != current.instance.state_dir {
        tracing::warn!("instance.state_dir changed: takes effect on restart");
        new.instance.state_dir = current.instance.state_dir.clone();
    }
    if new.metrics.listen != current.metrics.listen {
        tracing::warn!("metrics.listen changed: takes effect on restart");
        new.metrics.listen = current.metrics.listen;
    }
    let built = build_pipeline_with(&new, pipeline.store.clone()).map_err(|e| format!("{e:#}"))?;
    Ok((new, built))
}
