//! `/status`: a small page for operators (and `/status.json` for scripts): the three heads and
//! the L1 origin, recent batches on DA (backend and size) and proposals on L1 (with the end of
//! their challenge window), the dispute games this node plays, the pool, and Block-STM figures.
//! Rendered on the server, no scripts; the page refreshes itself every few seconds.

use std::{fmt::Write, sync::atomic::Ordering, sync::Arc};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
    Json,
};
use parallax_state::store::{ChainStore, HeadKind, PostedFrame, Proposal};
use serde::Serialize;

use super::EthApi;

/// Frames and proposals shown.
const RECENT: usize = 10;

/// What the page shows.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// When these figures were taken, in unix seconds (the page's clock for finalization).
    now: u64,
    chain_id: u64,
    unsafe_head: u64,
    safe_head: u64,
    finalized_head: u64,
    l1_origin: u64,
    l1_origin_hash: String,
    replica: bool,
    mempool: u64,
    blocks_sealed: u64,
    transactions: u64,
    blockstm_executions: u64,
    blockstm_aborts: u64,
    sequential_blocks: u64,
    recent_frames: Vec<FrameRow>,
    recent_proposals: Vec<ProposalRow>,
    dispute_games: Vec<GameRow>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct GameRow {
    game: String,
    proposal: u64,
    role: String,
    status: String,
    position: String,
    l1_block: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct FrameRow {
    blocks: String,
    da: String,
    size_bytes: Option<u64>,
    l1_tx: String,
    l1_block: Option<u64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ProposalRow {
    l2_block: u64,
    output_root: String,
    status: String,
    /// Unix seconds when it leaves the challenge window, once included.
    finalizes_at: Option<u64>,
}

impl<S: ChainStore> EthApi<S> {
    /// Collects the status figures.
    pub async fn status(&self) -> Result<Status, parallax_state::store::StoreError> {
        let store = self.chain().store();
        let head_of = |kind| async move {
            Ok::<_, parallax_state::store::StoreError>(
                store.head(kind).await?.map_or(0, |head| head.number),
            )
        };
        let (unsafe_head, safe_head, finalized_head) = (
            head_of(HeadKind::Unsafe).await?,
            head_of(HeadKind::Safe).await?,
            head_of(HeadKind::Finalized).await?,
        );
        let origin = self.chain().state().read().await.head.info.l1_origin;
        let frames: Vec<PostedFrame> = store
            .frames_after(unsafe_head.saturating_sub(10_000))
            .await?;
        let proposals: Vec<Proposal> = store.proposals(0).await?;
        // Games the node's own player (the proposer defending, or a challenger on this store)
        // records; open ones first, then the latest decided.
        let mut games = store.dispute_games().await?;
        games.sort_by_key(|game| (game.status == "in_progress", game.updated_block));
        let metrics = self.metrics();
        let load = |counter: &std::sync::atomic::AtomicU64| counter.load(Ordering::Relaxed);
        Ok(Status {
            now: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |since| since.as_secs()),
            chain_id: self.chain().params().rollup.l2_chain_id,
            unsafe_head,
            safe_head,
            finalized_head,
            l1_origin: origin.number,
            l1_origin_hash: origin.hash.to_string(),
            replica: self.is_read_only(),
            mempool: self.pool_len().await as u64,
            blocks_sealed: load(&metrics.blocks_sealed),
            transactions: load(&metrics.txs_included),
            blockstm_executions: load(&metrics.blockstm_executions),
            blockstm_aborts: load(&metrics.blockstm_aborts),
            sequential_blocks: load(&metrics.blockstm_sequential_blocks),
            recent_frames: frames
                .iter()
                .rev()
                .take(RECENT)
                .map(|frame| FrameRow {
                    blocks: format!("{}–{}", frame.first_block, frame.last_block),
                    da: frame.da.clone(),
                    size_bytes: frame.size,
                    l1_tx: frame.l1_tx_hash.to_string(),
                    l1_block: frame.l1_block,
                })
                .collect(),
            recent_proposals: proposals
                .iter()
                .rev()
                .take(RECENT)
                .map(|proposal| ProposalRow {
                    l2_block: proposal.l2_block_number,
                    output_root: proposal.output_root.to_string(),
                    status: proposal.status.clone(),
                    finalizes_at: proposal.finalizes_at,
                })
                .collect(),
            dispute_games: games
                .iter()
                .rev()
                .take(RECENT)
                .map(|game| GameRow {
                    game: game.address.to_string(),
                    proposal: game.oracle_index,
                    role: game.role.clone(),
                    status: game.status.clone(),
                    position: String::from_utf8_lossy(&game.state).into_owned(),
                    l1_block: game.updated_block,
                })
                .collect(),
        })
    }
}

/// `GET /status.json`.
pub(super) async fn json<S: ChainStore>(State(api): State<Arc<EthApi<S>>>) -> Response {
    match api.status().await {
        Ok(status) => Json(status).into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response(),
    }
}

/// `GET /status`.
pub(super) async fn page<S: ChainStore>(State(api): State<Arc<EthApi<S>>>) -> Response {
    match api.status().await {
        Ok(status) => {
            ([(header::CACHE_CONTROL, "no-store")], Html(render(&status))).into_response()
        }
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response(),
    }
}

fn render(status: &Status) -> String {
    let mut html = String::with_capacity(4096);
    let role = if status.replica {
        "replica"
    } else {
        "sequencer"
    };
    let _ = write!(
        html,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="3"><title>Parallax {role} – chain {chain}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#222}}h1{{font-size:1.4em}}
table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:.3em .7em;text-align:left}}
th{{background:#f4f4f4}}code{{font-size:12px}}.heads td{{font-size:1.3em}}</style></head><body>
<h1>Parallax {role} · chain {chain}</h1>
<table class="heads"><tr><th>unsafe</th><th>safe</th><th>finalized</th><th>L1 origin</th></tr>
<tr><td id="unsafe">{unsafe_head}</td><td id="safe">{safe}</td><td id="finalized">{finalized}</td>
<td id="origin">{origin} <code>{origin_hash}</code></td></tr></table>
<table><tr><th>mempool</th><th>blocks sealed</th><th>transactions</th><th>Block-STM executions</th><th>aborts</th><th>sequential blocks</th></tr>
<tr><td id="mempool">{mempool}</td><td>{sealed}</td><td>{txs}</td><td>{executions}</td><td>{aborts}</td><td>{sequential}</td></tr></table>
"#,
        chain = status.chain_id,
        unsafe_head = status.unsafe_head,
        safe = status.safe_head,
        finalized = status.finalized_head,
        origin = status.l1_origin,
        origin_hash = status.l1_origin_hash,
        mempool = status.mempool,
        sealed = status.blocks_sealed,
        txs = status.transactions,
        executions = status.blockstm_executions,
        aborts = status.blockstm_aborts,
        sequential = status.sequential_blocks,
    );
    html.push_str("<h2>Recent batches</h2><table id=\"batches\"><tr><th>L2 blocks</th><th>DA</th><th>bytes</th><th>L1 transaction</th><th>L1 block</th></tr>");
    for frame in &status.recent_frames {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            frame.blocks,
            escape(&frame.da),
            frame.size_bytes.map_or("–".into(), |size| size.to_string()),
            frame.l1_tx,
            frame
                .l1_block
                .map_or("pending".into(), |block| block.to_string())
        );
    }
    html.push_str("</table><h2>Recent proposals</h2><table id=\"proposals\"><tr><th>L2 block</th><th>output root</th><th>status</th><th>challenge window</th></tr>");
    for proposal in &status.recent_proposals {
        let _ = write!(
            html,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            proposal.l2_block,
            proposal.output_root,
            escape(&proposal.status),
            finalization(proposal.finalizes_at, status.now)
        );
    }
    html.push_str("</table><h2>Dispute games</h2><table id=\"games\"><tr><th>game</th><th>proposal</th><th>role</th><th>status</th><th>position</th><th>L1 block</th></tr>");
    for game in &status.dispute_games {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            game.game,
            game.proposal,
            escape(&game.role),
            escape(&game.status),
            escape(&game.position),
            game.l1_block
        );
    }
    html.push_str("</table><p><a href=\"/status.json\">JSON</a></p></body></html>");
    html
}

/// When a proposal leaves (or left) its challenge window, as an operator reads it: the UTC time
/// of day and how far away that is.
fn finalization(finalizes_at: Option<u64>, now: u64) -> String {
    let Some(at) = finalizes_at else {
        return "not yet on L1".into();
    };
    let clock = format!(
        "{:02}:{:02}:{:02} UTC",
        at / 3600 % 24,
        at / 60 % 60,
        at % 60
    );
    if at > now {
        format!("ends in {} s ({clock})", at - now)
    } else {
        format!("ended {} s ago ({clock})", now - at)
    }
}

/// Store strings are the services' own, but never trust them into HTML unescaped.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finalization_reads_as_time_left_or_passed() {
        // 08:00:00 UTC on some day.
        let at = 1_800_000_000 - 1_800_000_000 % 86_400 + 8 * 3600;
        assert_eq!(finalization(None, at), "not yet on L1");
        assert_eq!(
            finalization(Some(at), at - 42),
            "ends in 42 s (08:00:00 UTC)"
        );
        assert_eq!(
            finalization(Some(at + 61), at + 61),
            "ended 0 s ago (08:01:01 UTC)"
        );
        assert_eq!(
            finalization(Some(at), at + 3600),
            "ended 3600 s ago (08:00:00 UTC)"
        );
    }

    #[test]
    fn store_strings_are_escaped() {
        assert_eq!(escape("<b a=\"1\">&"), "&lt;b a=&quot;1&quot;&gt;&amp;");
    }
}
