package client

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"connectrpc.com/connect"

	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// Windows. A chat read from the beginning (the first sync, a chat joined,
// a reset, a bucket re-read after a drift) arrives with its newest
// Options.Window messages and everything else whole. The replica records
// where each cut chat's window starts (table windows: its floor, a feed
// seq; the replica holds every message of the chat with seq >= floor) and
// what it does not hold (the server's count of older messages, and of
// those unread). Messages that arrive later are kept: a window only grows,
// by later messages and by History, until the app calls Evict. A feed seq
// is handed out by one write transaction after another, so every message
// below a floor was committed before the pull that set it, and every
// message written later has a higher seq and arrives by a pull: History,
// which reads below the floor, and pulls, which read above the cursor,
// never skip a message or read one twice, whatever is sent meanwhile.

// DefaultWindow is how many of a chat's newest messages a pull brings
// unless Options.Window says otherwise.
const DefaultWindow = 200

// WindowAll as Options.Window brings every message.
const WindowAll = -1

// DefaultHistoryPage is how many older messages History fetches unless told.
const DefaultHistoryPage = 100

// HistoryResult says what History did.
type HistoryResult struct {
	Fetched int   // older messages now in the replica
	Older   int64 // messages older still, on the server
	// Complete: the replica holds every message of the chat.
	Complete bool
}

type windowRow struct {
	floor, hidden, hiddenUnread, readAt int64
	ok                                  bool
}

func windowOf(ctx context.Context, q querier, bucket string) (windowRow, error) {
	var w windowRow
	err := q.QueryRowContext(ctx, `SELECT floor, hidden, hidden_unread, read_at FROM windows WHERE bucket = ?`, bucket).
		Scan(&w.floor, &w.hidden, &w.hiddenUnread, &w.readAt)
	if errors.Is(err, sql.ErrNoRows) {
		return w, nil
	}
	if err != nil {
		return w, fmt.Errorf("client: read window: %w", err)
	}
	w.ok = true
	return w, nil
}

// putWindow records a bucket's window as the server sent it (floor 0: the
// replica holds every message, no record).
func putWindow(ctx context.Context, tx *sql.Tx, w *syncv1.Window) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM windows WHERE bucket = ?`, w.GetBucket()); err != nil {
		return fmt.Errorf("client: window: %w", err)
	}
	if w.GetFloor() == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO windows (bucket, floor, hidden, hidden_unread, read_at) VALUES (?, ?, ?, ?, ?)`,
		w.GetBucket(), w.GetFloor(), w.GetHidden(), w.GetHiddenUnread(), w.GetReadAt())
	if err != nil {
		return fmt.Errorf("client: window: %w", err)
	}
	return nil
}

// floors lists the replica's window floors, for a pull with checksums.
func floors(ctx context.Context, q querier) ([]*syncv1.WindowFloor, error) {
	rows, err := q.QueryContext(ctx, `SELECT bucket, floor FROM windows ORDER BY bucket`)
	if err != nil {
		return nil, fmt.Errorf("client: read windows: %w", err)
	}
	defer rows.Close()
	var out []*syncv1.WindowFloor
	for rows.Next() {
		f := &syncv1.WindowFloor{}
		if err := rows.Scan(&f.Bucket, &f.Floor); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// markStale flags the windows of buckets in which the pull deletes a
// message the replica does not hold (one below the floor): their counts
// are asked again after the pull.
func markStale(ctx context.Context, tx *sql.Tx, changes []*syncv1.Change) error {
	for _, ch := range changes {
		if ch.Op != syncv1.Op_OP_DELETE || ch.Entity != "message" {
			continue
		}
		_, err := tx.ExecContext(ctx, `UPDATE windows SET stale = 1 WHERE bucket = ? AND NOT EXISTS
			(SELECT 1 FROM rows WHERE bucket = ? AND entity = 'message' AND id = ?)`, ch.Bucket, ch.Bucket, ch.EntityId)
		if err != nil {
			return fmt.Errorf("client: window: %w", err)
		}
	}
	return nil
}

// refreshStale asks the server again for the counts of stale windows.
func (c *Client) refreshStale(ctx context.Context) error {
	rows, err := c.db.QueryContext(ctx, `SELECT bucket, floor FROM windows WHERE stale = 1`)
	if err != nil {
		return fmt.Errorf("client: read windows: %w", err)
	}
	type stale struct {
		bucket string
		floor  int64
	}
	var list []stale
	for rows.Next() {
		var s stale
		if err := rows.Scan(&s.bucket, &s.floor); err != nil {
			rows.Close()
			return err
		}
		list = append(list, s)
	}
	rows.Close()
	for _, s := range list {
		if _, err := c.fetchHistory(ctx, s.bucket, s.floor, 0); err != nil {
			return err
		}
	}
	return nil
}

// History fetches up to limit (DefaultHistoryPage when 0 or less) of a
// chat's messages older than the replica holds, newest first, and keeps
// them in the replica until Evict. It needs the server; what it fetched
// stays readable offline. A chat whose every message the replica holds
// answers Complete without asking.
func (c *Client) History(ctx context.Context, chatID string, limit int) (HistoryResult, error) {
	if limit <= 0 {
		limit = DefaultHistoryPage
	}
	bucket := "chat:" + chatID
	w, err := windowOf(ctx, c.db, bucket)
	if err != nil {
		return HistoryResult{}, err
	}
	if !w.ok {
		return HistoryResult{Complete: true}, nil
	}
	return c.fetchHistory(ctx, bucket, w.floor, limit)
}

func (c *Client) fetchHistory(ctx context.Context, bucket string, before int64, limit int) (HistoryResult, error) {
	out, err := call(ctx, c, func(ctx context.Context) (*connect.Response[syncv1.HistoryResponse], error) {
		return c.rpc.History(ctx, connect.NewRequest(&syncv1.HistoryRequest{ProtocolVersion: ProtocolVersion,
			Bucket: bucket, BeforeSeq: before, Limit: int32(limit)}))
	})
	if err != nil {
		return HistoryResult{}, err
	}
	var res HistoryResult
	err = c.tx(ctx, func(tx *sql.Tx) error {
		res = HistoryResult{}
		// Applied only onto the window it was asked from (another process,
		// a pull re-reading the chat or an eviction may have moved it).
		w, err := windowOf(ctx, tx, bucket)
		if err != nil || !w.ok || w.floor != before {
			res.Complete = !w.ok
			res.Older = w.hidden
			return err
		}
		for _, ch := range out.Msg.Changes {
			if ch.Bucket != bucket || ch.Entity != "message" || ch.Op != syncv1.Op_OP_UPSERT || ch.Seq >= before {
				return fmt.Errorf("client: history answered %s/%s at %d, not a message of %s below %d", ch.Bucket, ch.EntityId, ch.Seq, bucket, before)
			}
			at, author := messageKeys(ch.Data)
			// A newer version the replica holds wins.
			if _, err := tx.ExecContext(ctx, `INSERT INTO rows (bucket, entity, id, seq, data, at, author) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (bucket, entity, id) DO UPDATE SET seq = excluded.seq, data = excluded.data, at = excluded.at, author = excluded.author
				WHERE excluded.seq > rows.seq`, ch.Bucket, ch.Entity, ch.EntityId, ch.Seq, ch.Data, at, author); err != nil {
				return fmt.Errorf("client: keep history: %w", err)
			}
		}
		nw := out.Msg.GetWindow()
		if nw == nil {
			nw = &syncv1.Window{}
		}
		nw.Bucket = bucket
		if err := putWindow(ctx, tx, nw); err != nil {
			return err
		}
		res.Fetched, res.Older, res.Complete = len(out.Msg.Changes), nw.GetHidden(), nw.GetFloor() == 0
		return nil
	})
	return res, err
}

// Evict drops a chat's pulled messages but the newest keep (by feed
// order) from the replica; History fetches them again. Queued messages
// stay. It answers how many it dropped; the unread count stays exact (the
// dropped messages join the window's count of older ones).
func (c *Client) Evict(ctx context.Context, chatID string, keep int) (int, error) {
	if keep < 0 {
		return 0, fmt.Errorf("%w: keep: %d, at least 0", ErrRefused, keep)
	}
	me, err := c.me(ctx)
	if err != nil {
		return 0, err
	}
	bucket := "chat:" + chatID
	readAt, err := c.readMark(ctx, chatID, me)
	if err != nil {
		return 0, err
	}
	var n int
	err = c.tx(ctx, func(tx *sql.Tx) error {
		n = 0
		var cut int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM rows WHERE bucket = ? AND entity = 'message' ORDER BY seq DESC LIMIT 1 OFFSET ?`, bucket, max(keep-1, 0)).Scan(&cut)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // no more than keep
		}
		if err != nil {
			return fmt.Errorf("client: evict: %w", err)
		}
		if keep == 0 {
			cut++
		}
		w, err := windowOf(ctx, tx, bucket)
		if err != nil {
			return err
		}
		if !w.ok {
			w.readAt = readAt
		}
		var dropped, unread int64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(at > ? AND author <> ?), 0) FROM rows
			WHERE bucket = ? AND entity = 'message' AND seq < ?`, w.readAt, me, bucket, cut).Scan(&dropped, &unread); err != nil {
			return fmt.Errorf("client: evict: %w", err)
		}
		if dropped == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rows WHERE bucket = ? AND entity = 'message' AND seq < ?`, bucket, cut); err != nil {
			return fmt.Errorf("client: evict: %w", err)
		}
		n = int(dropped)
		return putWindow(ctx, tx, &syncv1.Window{Bucket: bucket, Floor: cut, Hidden: w.hidden + dropped,
			HiddenUnread: w.hiddenUnread + unread, ReadAt: w.readAt})
	})
	return n, err
}

// OlderMessages is how many of a chat's messages are older than the
// replica holds (on the server, for History), as of the last pull or
// History.
func (c *Client) OlderMessages(ctx context.Context, chatID string) (int64, error) {
	w, err := windowOf(ctx, c.db, "chat:"+chatID)
	return w.hidden, err
}

// readMark is the user's lastReadAt in a chat as the replica shows it
// (unix ms; a very old time when they take no part).
func (c *Client) readMark(ctx context.Context, chatID, me string) (int64, error) {
	es, err := c.entities(ctx, "participant", "chat:"+chatID)
	if err != nil {
		return 0, err
	}
	ps, err := decodeAll[Participant](es)
	if err != nil {
		return 0, err
	}
	for _, p := range ps {
		if p.User.ID == me && !p.LastReadAt.IsZero() {
			return p.LastReadAt.UnixMilli(), nil
		}
	}
	return noReadMark, nil
}

const noReadMark = -1 << 62

// hiddenUnread is what a chat's window adds to its unread count: the
// server's count of unread messages below the floor, while the user's read
// mark is still the one it was counted with (a later mark, set by the
// server after those messages were sent, reads them all).
func hiddenUnread(ctx context.Context, q querier, bucket string, readMS int64) (int, error) {
	w, err := windowOf(ctx, q, bucket)
	if err != nil || !w.ok || readMS > w.readAt {
		return 0, err
	}
	return int(w.hiddenUnread), nil
}
