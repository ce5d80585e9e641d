package store

import (
	"context"
	"fmt"
)

// Setting returns the value stored under key, or a not-found error.
func (tx *Tx) Setting(ctx context.Context, key string) (string, error) {
	var v string
	if err := tx.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return "", notFound(err, "setting_not_found", "setting "+key)
	}
	return v, nil
}

// SetSettingIfAbsent stores value under key unless key already has a value,
// and returns the value that is stored afterwards. Concurrent first starts
// of several instances therefore agree on one value.
func (tx *Tx) SetSettingIfAbsent(ctx context.Context, key, value string) (string, error) {
	if _, err := tx.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return "", fmt.Errorf("store: set %s: %w", key, err)
	}
	return tx.Setting(ctx, key)
}
