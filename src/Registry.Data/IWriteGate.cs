namespace Registry.Data;

/// <summary>
/// Where this process's writers take turns before they reach the database. A database that admits one
/// writer at a time (SQLite) makes a waiting writer hold its thread and poll the lock, so with many
/// clients pushing at once threads sat in those polls while requests they could have served waited
/// for a thread. Writers queued here wait without a thread and start the moment the one before them
/// ends. Databases that lock rows let every writer through.
/// </summary>
public interface IWriteGate
{
    /// <summary>
    /// Runs <paramref name="write"/> (statements or one transaction, committed before it returns) in
    /// this process's turn to write. Turns do not nest: <paramref name="write"/> must not ask for another.
    /// </summary>
    Task<T> RunAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken);
}

/// <summary>The gate of a database that lets concurrent writers in (row locks, as PostgreSQL takes them).</summary>
public sealed class ConcurrentWrites : IWriteGate
{
    public Task<T> RunAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken) => write();
}

public static class WriteGateExtensions
{
    /// <summary><see cref="IWriteGate.RunAsync{T}"/> for a write without a result.</summary>
    public static Task RunAsync(this IWriteGate gate, Func<Task> write, CancellationToken cancellationToken) =>
        gate.RunAsync(async () =>
        {
            await write();
            return true;
        }, cancellationToken);
}
