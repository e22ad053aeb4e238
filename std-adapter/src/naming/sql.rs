//! Persistent name server storage in an SQLite file (`-s sql:path`), with Pyro5's schema
//! (`docs/name-server.md`, "Storage"), so Python's and our name server can share a database
//! file.
//!
//! Every write runs in one transaction, committed before the call returns: a registration
//! that was acknowledged survives a crash of the name server.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::storage::{Entry, NameStorage, StorageError};

/// Registrations in an SQLite database file.
#[derive(Debug)]
pub struct SqlStorage {
    db: Connection,
    path: PathBuf,
}

impl SqlStorage {
    /// Open (or create) the database at `path`, creating Pyro's tables when missing and
    /// adding the metadata table to a database from before it existed, as Pyro does.
    ///
    /// # Errors
    /// `:memory:` (use [`MemoryStorage`](super::MemoryStorage)), or SQLite's error.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        let path = path.as_ref();
        if path == Path::new(":memory:") {
            return Err(StorageError {
                operation: "open",
                message: "the sqlite :memory: database is not supported: use the memory storage".into(),
            });
        }
        let err = |e: rusqlite::Error| StorageError { operation: "open", message: e.to_string() };
        let mut db = Connection::open(path).map_err(err)?;
        db.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
        let tx = db.transaction().map_err(err)?;
        let has = |table: &str| -> Result<bool, rusqlite::Error> {
            tx.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?1", [table], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n > 0)
        };
        let (names, metadata) = (has("pyro_names").map_err(err)?, has("pyro_metadata").map_err(err)?);
        if !names {
            create_schema(&tx).map_err(err)?;
        } else if !metadata {
            tx.execute_batch("ALTER TABLE pyro_names RENAME TO pyro_names_old;").map_err(err)?;
            create_schema(&tx).map_err(err)?;
            tx.execute_batch(
                "INSERT INTO pyro_names(name, uri) SELECT name, uri FROM pyro_names_old; DROP TABLE pyro_names_old;",
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(Self { db, path: path.to_path_buf() })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn tags(&self, id: i64) -> Result<Vec<String>, rusqlite::Error> {
        let mut stmt = self.db.prepare_cached("SELECT metadata FROM pyro_metadata WHERE object=?1 ORDER BY rowid")?;
        let rows = stmt.query_map([id], |r| r.get::<_, String>(0))?;
        rows.collect()
    }
}

fn create_schema(db: &Connection) -> Result<(), rusqlite::Error> {
    db.execute_batch(
        "CREATE TABLE pyro_names (id integer PRIMARY KEY, name nvarchar NOT NULL UNIQUE, uri nvarchar NOT NULL);
         CREATE TABLE pyro_metadata (object integer NOT NULL, metadata nvarchar NOT NULL,
             FOREIGN KEY(object) REFERENCES pyro_names(id));",
    )
}

fn failed(operation: &'static str) -> impl Fn(rusqlite::Error) -> StorageError {
    move |e| StorageError { operation, message: e.to_string() }
}

fn delete(db: &Connection, name: &str) -> Result<bool, rusqlite::Error> {
    let id: Option<i64> = db.query_row("SELECT id FROM pyro_names WHERE name=?1", [name], |r| r.get(0)).optional()?;
    if let Some(id) = id {
        db.execute("DELETE FROM pyro_metadata WHERE object=?1", [id])?;
        db.execute("DELETE FROM pyro_names WHERE id=?1", [id])?;
    }
    Ok(id.is_some())
}

impl NameStorage for SqlStorage {
    /// Registrations without metadata read back with an empty tag set (as in Pyro's
    /// sql storage, which reports `set()`).
    fn get(&self, name: &str) -> Result<Option<Entry>, StorageError> {
        let err = failed("getitem");
        let row: Option<(i64, String)> = self
            .db
            .query_row("SELECT id, uri FROM pyro_names WHERE name=?1", [name], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(&err)?;
        match row {
            Some((id, uri)) => Ok(Some(Entry::new(uri, Some(self.tags(id).map_err(&err)?)))),
            None => Ok(None),
        }
    }

    fn set(&mut self, name: &str, entry: Entry) -> Result<(), StorageError> {
        let err = failed("setitem");
        let tx = self.db.transaction().map_err(&err)?;
        delete(&tx, name).map_err(&err)?;
        tx.execute("INSERT INTO pyro_names(name, uri) VALUES(?1, ?2)", params![name, entry.uri]).map_err(&err)?;
        let id = tx.last_insert_rowid();
        for tag in entry.tags() {
            tx.execute("INSERT INTO pyro_metadata(object, metadata) VALUES(?1, ?2)", params![id, tag]).map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }

    fn remove(&mut self, names: &[String]) -> Result<usize, StorageError> {
        let err = failed("remove_items");
        let tx = self.db.transaction().map_err(&err)?;
        let mut removed = 0;
        for name in names {
            if delete(&tx, name).map_err(&err)? {
                removed += 1;
            }
        }
        tx.commit().map_err(&err)?;
        Ok(removed)
    }

    fn len(&self) -> Result<usize, StorageError> {
        let n: i64 = self.db.query_row("SELECT count(*) FROM pyro_names", [], |r| r.get(0)).map_err(failed("len"))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn entries(&self) -> Result<Vec<(String, Entry)>, StorageError> {
        let err = failed("everything");
        let mut tags: std::collections::HashMap<i64, Vec<String>> = std::collections::HashMap::new();
        let mut stmt = self.db.prepare("SELECT object, metadata FROM pyro_metadata ORDER BY rowid").map_err(&err)?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))).map_err(&err)?;
        for row in rows {
            let (id, tag) = row.map_err(&err)?;
            tags.entry(id).or_default().push(tag);
        }
        let mut stmt = self.db.prepare("SELECT id, name, uri FROM pyro_names ORDER BY id").map_err(&err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .map_err(&err)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, name, uri) = row.map_err(&err)?;
            out.push((name, Entry::new(uri, Some(tags.remove(&id).unwrap_or_default()))));
        }
        Ok(out)
    }

    fn contains(&self, name: &str) -> Result<bool, StorageError> {
        self.db
            .query_row("SELECT EXISTS(SELECT 1 FROM pyro_names WHERE name=?1 LIMIT 1)", [name], |r| r.get(0))
            .map_err(failed("contains"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrations_survive_reopening_the_file() {
        let dir = std::env::temp_dir().join(format!("pyro5-ns-sql-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ns.sqlite");
        let _ = std::fs::remove_file(&path);
        {
            let mut s = SqlStorage::open(&path).unwrap();
            s.set("a", Entry::new("PYRO:a@h:1", Some(vec!["t1".into(), "t2".into()]))).unwrap();
            s.set("b", Entry::new("PYRO:b@h:1", None)).unwrap();
            s.set("c", Entry::new("PYRO:c@h:1", None)).unwrap();
            assert_eq!(s.remove(&["c".into(), "nope".into()]).unwrap(), 1);
        }
        let s = SqlStorage::open(&path).unwrap();
        assert_eq!(s.len().unwrap(), 2);
        assert_eq!(s.get("a").unwrap().unwrap().tags(), ["t1", "t2"]);
        assert_eq!(s.get("b").unwrap().unwrap(), Entry::new("PYRO:b@h:1", Some(vec![])));
        assert!(s.contains("b").unwrap() && !s.contains("c").unwrap());
        let names: Vec<_> = s.entries().unwrap().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(SqlStorage::open(":memory:").is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
