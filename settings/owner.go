package settings

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// ApplicationID is the value of Convergence's stores in the SQLite header's
// application id (PRAGMA application_id, bytes 68-71): "Conv" in ASCII. It tells our
// store from another program's database put under our file name (issue 20 item 4).
const ApplicationID int32 = 0x436f6e76

// ErrForeign means the database file is a SQLite database of another program (its
// application id is another's, or it holds tables that are not ours). Open leaves it
// as it is; OpenOrRecover moves it aside.
var ErrForeign = errors.New("the file is not a Convergence database")

// sqliteHeaderLen is the size of the SQLite file header.
const sqliteHeaderLen = 100

// ourTables are the tables each schema version adds: a store of ours made before the
// application id existed (id 0, version v >= 1) has all of ourTables[1..v].
var ourTables = [][]string{
	1: {"settings", "notaries", "notary_hosts", "cache", "cache_vouchers", "pins", "events"},
	2: {"install", "changes"},
	3: {"decision_notes"},
	4: {"system_proxy"},
	5: {"passthrough_sites"},
}

// checkOwner tells whether the file at path (already known to start with the SQLite
// magic, or to be empty or missing) is a store of ours, before Open's connection
// touches it: that connection switches the file to WAL and migrates, which would
// change another program's database. Our application id in the header is enough.
// An id of 0 (a store made before the id existed, a fresh file, or another
// program's file) is settled by a read-only look with a plain connection. Returns
// ErrForeign for another program's database.
func checkOwner(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("failed to read database %q: %w", path, err)
	}
	head := make([]byte, sqliteHeaderLen)
	_, err = io.ReadFull(f, head)
	f.Close()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil // empty, or too short to be anyone's database: SQLite says which
	}
	if err != nil {
		return fmt.Errorf("failed to read database %q: %w", path, err)
	}
	if head[21] != 64 || head[22] != 32 || head[23] != 32 {
		// Not a header SQLite writes (its payload fractions are fixed): a damaged
		// file, which Open's own checks call corrupt.
		return nil
	}
	switch id := int32(binary.BigEndian.Uint32(head[68:72])); id {
	case ApplicationID:
		return nil
	case 0:
		// The header may lag a write-ahead log that holds our id: ask SQLite.
		return probeOwner(ctx, path)
	default:
		return foreignError(path, fmt.Sprintf("its application id is %#08x, not Convergence's %#08x", uint32(id), uint32(ApplicationID)))
	}
}

// probeOwner reads the application id, schema version and tables of the database at
// path with a connection of its own that sets no pragma but query_only (so the file's
// journal mode is left as it is and nothing is written) and closes it.
func probeOwner(ctx context.Context, path string) error {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("failed to open database %q: %w", path, err)
	}
	defer db.Close()
	probe := &Store{db: db, path: path} // for classify and read only
	var (
		id     int32
		v      int
		tables = map[string]bool{}
		others []string
	)
	err = probe.read(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT type, name FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var typ, name string
			if err := rows.Scan(&typ, &name); err != nil {
				return err
			}
			if typ == "table" {
				tables[name] = true
			}
			others = append(others, name)
		}
		return rows.Err()
	})
	if err != nil {
		return probe.classify("check", err)
	}
	switch {
	case id == ApplicationID:
		return nil
	case id != 0:
		return foreignError(path, fmt.Sprintf("its application id is %#08x, not Convergence's %#08x", uint32(id), uint32(ApplicationID)))
	case v == 0 && len(others) == 0:
		return nil // an empty database: Open makes it ours
	case v == 0:
		return foreignError(path, fmt.Sprintf("it holds another program's tables (%s)", quoteList(others)))
	case v > len(migrations):
		return foreignError(path, fmt.Sprintf("its schema version is %d with no application id", v))
	}
	for step := 1; step <= v; step++ {
		for _, name := range ourTables[step] {
			if !tables[name] {
				return foreignError(path, fmt.Sprintf("its schema version is %d but it has no %q table (it holds %s)", v, name, quoteList(others)))
			}
		}
	}
	return nil
}

// claim stamps our application id into a store checkOwner accepted, if it lacks it.
func (s *Store) claim(ctx context.Context) error {
	var id int32
	if err := s.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id); err != nil {
		return fmt.Errorf("failed to read application id: %w", err)
	}
	if id == ApplicationID {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		// PRAGMA takes no parameters; ApplicationID is our own constant.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
			return fmt.Errorf("failed to set application id: %w", err)
		}
		return nil
	})
}

func foreignError(path, why string) error {
	return fmt.Errorf("failed to open database %q: %w: %s", path, ErrForeign, why)
}

// quoteList quotes up to five names, then says how many more there are.
func quoteList(names []string) string {
	const max = 5
	q := make([]string, 0, max+1)
	for i, n := range names {
		if i == max {
			q = append(q, fmt.Sprintf("and %d more", len(names)-max))
			break
		}
		q = append(q, fmt.Sprintf("%q", n))
	}
	return strings.Join(q, ", ")
}
