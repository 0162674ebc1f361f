namespace Registry.Hosting;

/// <summary>Encryption at rest (section <c>Encryption</c>), on any blob store.</summary>
public sealed class EncryptionOptions
{
    public const string SectionName = "Encryption";

    /// <summary>Seal new blobs and uploads (AES-256-GCM, a data key per blob). Enable it on an empty store: blobs stored in the clear before are then refused.</summary>
    public bool Enabled { get; set; }

    /// <summary>Master keys, one <c>&lt;id&gt; &lt;base64 32 bytes&gt;</c> per line, the last current; created with one key if missing. Default <c>&lt;data&gt;/master-keys</c>.</summary>
    public string? KeyFile { get; set; }
}
