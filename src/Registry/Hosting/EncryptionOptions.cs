namespace Registry.Hosting;

/// <summary>Encryption at rest (section <c>Encryption</c>), on any blob store.</summary>
public sealed class EncryptionOptions
{
    public const string SectionName = "Encryption";

    /// <summary>Seal new blobs and uploads (AES-256-GCM, a data key per blob). Enable it on an empty store: blobs stored in the clear before are then refused.</summary>
    public bool Enabled { get; set; }

    /// <summary>Master keys, one <c>&lt;id&gt; &lt;base64 32 bytes&gt;</c> per line, the last current; created with one key if missing. Default <c>&lt;data&gt;/master-keys</c>.</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// An AWS KMS key (id, ARN or alias) to keep the master keys under: the key file then holds only KMS
    /// ciphertexts (<c>&lt;id&gt; kms:&lt;base64&gt;</c>), unwrapped by KMS at start. Unset: a local key file in the clear.
    /// </summary>
    public string? KmsKeyId { get; set; }

    /// <summary>A KMS-compatible endpoint instead of AWS's, e.g. for a local KMS.</summary>
    public string? KmsServiceUrl { get; set; }

    /// <summary>The region of the KMS key (and the signing region with <see cref="KmsServiceUrl"/>).</summary>
    public string? KmsRegion { get; set; }
}
