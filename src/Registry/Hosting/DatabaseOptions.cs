namespace Registry.Hosting;

/// <summary>Metadata database settings (section <c>Database</c>).</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary><c>sqlite</c> (embedded default) or <c>postgresql</c>.</summary>
    public string Type { get; set; } = "sqlite";

    /// <summary>For SQLite, the database file; defaults to <c>&lt;data&gt;/registry.db</c>.</summary>
    public string? Path { get; set; }

    /// <summary>For PostgreSQL, the Npgsql connection string (<c>Host=…;Database=…;Username=…;Password=…</c>).</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Apply pending migrations when <c>serve</c> starts. Replicas may all do it (EF Core serializes
    /// them with a lock); turn it off to migrate only from a deployment step (<c>registry migrate</c>).
    /// </summary>
    public bool MigrateOnStart { get; set; } = true;
}
