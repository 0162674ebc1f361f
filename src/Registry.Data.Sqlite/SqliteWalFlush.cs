namespace Registry.Data.Sqlite;

/// <summary>
/// Durability for SQLite in WAL mode with synchronous=NORMAL: a commit is appended to the write-ahead
/// log without an fsync; fsyncing the log afterwards makes it (and every earlier commit) durable, which
/// is what synchronous=FULL would have done inside the write lock. Frames already checkpointed into the
/// database file were made durable by the checkpoint itself.
/// </summary>
public sealed class SqliteWalFlush(string databasePath) : ICommitDurability
{
    private readonly string _walPath = databasePath + "-wal";

    public ValueTask EnsureDurableAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var wal = new FileStream(_walPath, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            wal.Flush(flushToDisk: true);
        }
        catch (FileNotFoundException)
        {
            // No log: everything was checkpointed (and synced) into the database file.
        }

        return ValueTask.CompletedTask;
    }
}
