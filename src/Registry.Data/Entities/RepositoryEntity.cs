namespace Registry.Data.Entities;

/// <summary>A repository; created by its first push.</summary>
public sealed class RepositoryEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>The repository policy (a resource policy in AWS's JSON grammar), or null.</summary>
    public string? Policy { get; set; }

    /// <summary><c>MUTABLE</c>, or <c>IMMUTABLE</c>: a tag, once pushed, may not be moved to another manifest.</summary>
    public string ImageTagMutability { get; set; } = "MUTABLE";

    /// <summary>ECR's scan-on-push flag, kept and reported (no scanner runs).</summary>
    public bool ScanOnPush { get; set; }

    /// <summary>ECR's encryption configuration as given at creation: <c>AES256</c> or <c>KMS</c> (with <see cref="KmsKey"/>).</summary>
    public string EncryptionType { get; set; } = "AES256";

    public string? KmsKey { get; set; }

    /// <summary>The ECR lifecycle policy (JSON), or null.</summary>
    public string? LifecyclePolicy { get; set; }

    /// <summary>When the lifecycle policy last ran.</summary>
    public DateTime? LifecycleEvaluatedAt { get; set; }

    /// <summary>The lifecycle policy text the last StartLifecyclePolicyPreview asked about, or null.</summary>
    public string? LifecyclePreviewPolicy { get; set; }
}
