//! Wake-word fuzzing campaigns in the history (schema 4): one row per campaign, one
//! per attempt, each attempt committed on its own as it ends, so a crash loses at most
//! the attempt in flight. The rows are plain: what the JSON columns hold is the
//! campaign feature's business (`campaign/render.rs` writes them).

use super::{sql_err, Store, StoreError};
use leakypick_core::Timestamp;
use rusqlite::{params, OptionalExtension};

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignRow {
    /// Row id; ignored by [`Store::create_campaign`].
    pub id: i64,
    /// The device's text form (MAC, or IP).
    pub device: String,
    pub wake_word: String,
    /// `paper` or `adaptive`.
    pub design: String,
    /// Every parameter of the campaign (a JSON object).
    pub params: String,
    /// The candidate words (a JSON array).
    pub candidates: String,
    pub created: Timestamp,
    /// When the latest attempt ended (`created` before the first).
    pub updated: Timestamp,
    /// `running`, `stopped` or `done`.
    pub state: String,
}

/// One attempt as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRow {
    pub word: String,
    /// 1, 2, ... per word (calibration attempts are numbered on their own).
    pub attempt: u32,
    /// `calibrate`, `screen` or `confirm`.
    pub phase: String,
    pub voice: Option<String>,
    pub rate: f64,
    pub play_start: Timestamp,
    pub play_end: Timestamp,
    /// `woke` or `quiet`.
    pub verdict: String,
    pub onset: Option<Timestamp>,
    /// Nanoseconds from the end of playback to the onset.
    pub latency: Option<i64>,
    pub upload_end: Option<Timestamp>,
    pub bytes: u64,
    pub packets: u64,
}

const CAMPAIGN_COLUMNS: &str =
    "id, device, wake_word, design, params, candidates, created, updated, state";

fn campaign_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CampaignRow> {
    Ok(CampaignRow {
        id: r.get(0)?,
        device: r.get(1)?,
        wake_word: r.get(2)?,
        design: r.get(3)?,
        params: r.get(4)?,
        candidates: r.get(5)?,
        created: Timestamp(r.get(6)?),
        updated: Timestamp(r.get(7)?),
        state: r.get(8)?,
    })
}

impl Store {
    /// Stores a new campaign; returns its id.
    pub fn create_campaign(&mut self, c: &CampaignRow) -> Result<i64, StoreError> {
        self.transaction(|b| {
            b.conn
                .execute(
                    "INSERT INTO campaigns (device, wake_word, design, params, candidates, \
                     created, updated, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        c.device,
                        c.wake_word,
                        c.design,
                        c.params,
                        c.candidates,
                        c.created.0,
                        c.updated.0,
                        c.state
                    ],
                )
                .map_err(sql_err(b.path))?;
            Ok(b.conn.last_insert_rowid())
        })
    }

    /// Commits one finished attempt of campaign `id` (its own transaction). Storing the
    /// same attempt twice is an error, never a duplicate.
    pub fn add_campaign_attempt(&mut self, id: i64, a: &AttemptRow) -> Result<(), StoreError> {
        self.transaction(|b| {
            let e = sql_err(b.path);
            b.conn
                .execute(
                    "INSERT INTO campaign_attempts (campaign, word, attempt, phase, voice, rate, \
                     play_start, play_end, verdict, onset, latency, upload_end, bytes, packets, \
                     written) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
                     ?14, ?15)",
                    params![
                        id,
                        a.word,
                        a.attempt,
                        a.phase,
                        a.voice,
                        a.rate,
                        a.play_start.0,
                        a.play_end.0,
                        a.verdict,
                        a.onset.map(|t| t.0),
                        a.latency,
                        a.upload_end.map(|t| t.0),
                        super::to_i64(a.bytes),
                        super::to_i64(a.packets),
                        b.now.0
                    ],
                )
                .map_err(&e)?;
            // `updated`: when the latest attempt ended (player or upload), as played.
            let end = a.upload_end.unwrap_or(a.play_end).max(a.play_end);
            b.conn
                .execute(
                    "UPDATE campaigns SET updated = max(updated, ?2) WHERE id = ?1",
                    params![id, end.0],
                )
                .map_err(&e)?;
            Ok(())
        })
    }

    /// Sets a campaign's state (`running`, `stopped`, `done`).
    pub fn set_campaign_state(&mut self, id: i64, state: &str) -> Result<(), StoreError> {
        self.transaction(|b| {
            b.conn
                .execute(
                    "UPDATE campaigns SET state = ?2 WHERE id = ?1",
                    params![id, state],
                )
                .map_err(sql_err(b.path))?;
            Ok(())
        })
    }

    /// The campaign with this id.
    pub fn campaign(&self, id: i64) -> Result<Option<CampaignRow>, StoreError> {
        self.conn
            .query_row(
                &format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?1"),
                [id],
                campaign_row,
            )
            .optional()
            .map_err(sql_err(&self.path))
    }

    /// The latest campaign (by id), or the latest not `done` when `unfinished`.
    pub fn latest_campaign(&self, unfinished: bool) -> Result<Option<CampaignRow>, StoreError> {
        let filter = if unfinished {
            "WHERE state <> 'done'"
        } else {
            ""
        };
        self.conn
            .query_row(
                &format!(
                    "SELECT {CAMPAIGN_COLUMNS} FROM campaigns {filter} ORDER BY id DESC LIMIT 1"
                ),
                [],
                campaign_row,
            )
            .optional()
            .map_err(sql_err(&self.path))
    }

    /// Every attempt of campaign `id`, in the order they were played.
    pub fn campaign_attempts(&self, id: i64) -> Result<Vec<AttemptRow>, StoreError> {
        let e = sql_err(&self.path);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT word, attempt, phase, voice, rate, play_start, play_end, verdict, onset, \
                 latency, upload_end, bytes, packets FROM campaign_attempts WHERE campaign = ?1 \
                 ORDER BY play_start, word, attempt",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([id], |r| {
                Ok(AttemptRow {
                    word: r.get(0)?,
                    attempt: r.get(1)?,
                    phase: r.get(2)?,
                    voice: r.get(3)?,
                    rate: r.get(4)?,
                    play_start: Timestamp(r.get(5)?),
                    play_end: Timestamp(r.get(6)?),
                    verdict: r.get(7)?,
                    onset: r.get::<_, Option<i64>>(8)?.map(Timestamp),
                    latency: r.get(9)?,
                    upload_end: r.get::<_, Option<i64>>(10)?.map(Timestamp),
                    bytes: super::to_u64(r.get(11)?),
                    packets: super::to_u64(r.get(12)?),
                })
            })
            .map_err(&e)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(&e)
    }
}
