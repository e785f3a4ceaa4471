//! Files written so that a reader never sees half of one; shared by the command line and the online commands.

use std::path::Path;

use anyhow::Context as _;

/// Writes through a temporary file and a rename, so a reader never sees half a file.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let file_name = path.file_name().with_context(|| format!("{}: not a file path", path.display()))?;
    let temporary = path.with_file_name(format!(".{}.tmp", file_name.to_string_lossy()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| write(&mut file));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("{}: cannot write", path.display()));
    }
    std::fs::rename(&temporary, path).with_context(|| format!("{}: cannot write", path.display()))
}
