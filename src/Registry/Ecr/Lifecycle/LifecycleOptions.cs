namespace Registry.Ecr.Lifecycle;

/// <summary>When lifecycle policies run (section <c>Lifecycle</c>); they also run on demand through the admin API.</summary>
public sealed class LifecycleOptions
{
    public const string SectionName = "Lifecycle";

    public bool Enabled { get; set; } = true;

    /// <summary>Time between runs over every repository with a policy (ECR: within 24 hours).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);
}
