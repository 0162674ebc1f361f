using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SQLitePCL;

namespace Registry.Data.Sqlite;

/// <summary>
/// How a connection waits for the database's single write lock. SQLite's own busy timeout sleeps in
/// growing steps of up to 100 ms and only its timer wakes it, so with many clients pushing at once a
/// writer slept for tens of milliseconds behind a transaction that held the lock for one (measured:
/// ~7 s of such sleeps per 100 small images pushed 16 at a time). This handler yields a few times,
/// then retries every millisecond, for about 30 seconds before SQLite reports the database busy.
/// </summary>
internal static unsafe partial class SqliteBusyWait
{
    private const int Yields = 8;
    private const int MaxAttempts = 30_000;

    public static void Install(sqlite3 connection)
    {
        var result = SetBusyHandler(connection.DangerousGetHandle(), &Retry, 0);
        if (result != raw.SQLITE_OK)
        {
            throw new InvalidOperationException($"sqlite3_busy_handler failed ({result})");
        }
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int Retry(nint state, int attempt)
    {
        if (attempt >= MaxAttempts)
        {
            return 0;
        }

        if (attempt < Yields)
        {
            Thread.Yield();
        }
        else
        {
            Thread.Sleep(1);
        }

        return 1;
    }

    // The library SQLitePCLRaw loads (same name, so the same loaded instance and the same handles).
    [LibraryImport("e_sqlite3", EntryPoint = "sqlite3_busy_handler")]
    private static partial int SetBusyHandler(nint connection, delegate* unmanaged[Cdecl]<nint, int, int> handler, nint state);
}
