namespace Registry.Data.Sqlite;

/// <summary>
/// One write at a time, as SQLite takes them, in arrival order and without a thread per waiter. A turn
/// asked for inside a turn would wait for itself forever, so that is refused instead.
/// </summary>
public sealed class SqliteWriteTurns : IWriteGate, IDisposable
{
    private readonly AsyncLocal<bool> _inTurn = new();

    private readonly SemaphoreSlim _turn = new(1, 1);

    public async Task<T> RunAsync<T>(Func<Task<T>> write, CancellationToken cancellationToken)
    {
        if (_inTurn.Value)
        {
            throw new InvalidOperationException("a write asked for a turn inside its own turn");
        }

        await _turn.WaitAsync(cancellationToken);
        try
        {
            _inTurn.Value = true;
            return await write();
        }
        finally
        {
            _turn.Release();
        }
    }

    public void Dispose() => _turn.Dispose();
}
