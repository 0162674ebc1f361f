namespace Registry.Hosting;

/// <summary>Metadata database settings (section <c>Database</c>).</summary>
public sealed class DatabaseOptions
{
    public const string SectionName = "Database";

    /// <summary><c>sqlite</c> (embedded default).</summary>
    public string Type { get; set; } = "sqlite";

    /// <summary>For SQLite, the database file; defaults to <c>&lt;data&gt;/registry.db</c>.</summary>
    public string? Path { get; set; }
}
