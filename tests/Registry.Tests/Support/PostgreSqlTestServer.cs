using Npgsql;

namespace Registry.Tests.Support;

/// <summary>
/// The PostgreSQL server named by <c>REGISTRY_TEST_POSTGRES</c> (started by <c>scripts/test.sh</c>):
/// tests get databases of their own on it. Without that variable, tests that need it are skipped.
/// </summary>
public static class PostgreSqlTestServer
{
    private static readonly string? ServerConnection = Environment.GetEnvironmentVariable("REGISTRY_TEST_POSTGRES");

    public static bool Available => !string.IsNullOrEmpty(ServerConnection);

    public static void SkipUnlessAvailable() =>
        Skip.IfNot(Available, "REGISTRY_TEST_POSTGRES is not set (scripts/test.sh starts a PostgreSQL server)");

    /// <summary>Creates an empty database and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string name)
    {
        await ExecuteAsync($"CREATE DATABASE \"{name}\"");
        return ConnectionString(name);
    }

    public static Task DropDatabaseAsync(string name) => ExecuteAsync($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");

    public static string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(ServerConnection) { Database = database }.ConnectionString;

    private static async Task ExecuteAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ConnectionString("postgres")) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
