namespace Registry.Data.Entities;

/// <summary>
/// An access key (id + secret) of a user, for AWS Signature V4. SigV4 needs the secret itself, so it
/// is stored sealed under the registry's secrets key, never in the clear.
/// </summary>
public sealed class AccessKeyEntity
{
    /// <summary>The access key id (<c>AKIA…</c>), public.</summary>
    public required string Id { get; set; }

    public long UserId { get; set; }

    /// <summary>The secret access key, sealed (AES-256-GCM under the secrets key).</summary>
    public required string SealedSecret { get; set; }

    /// <summary><c>Active</c> or <c>Inactive</c>.</summary>
    public required string Status { get; set; }

    public DateTime CreatedAt { get; set; }
}
