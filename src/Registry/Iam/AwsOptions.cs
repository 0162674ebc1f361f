namespace Registry.Iam;

/// <summary>Where this registry sits in AWS's naming (section <c>Aws</c>): the account and region its ARNs carry.</summary>
public sealed class AwsOptions
{
    public const string SectionName = "Aws";

    /// <summary>The 12-digit account id in every ARN (<c>arn:aws:ecr:&lt;region&gt;:&lt;account&gt;:repository/…</c>).</summary>
    public string AccountId { get; set; } = "000000000000";

    /// <summary>The region in ECR ARNs and the region SigV4 requests must be signed for.</summary>
    public string Region { get; set; } = "us-east-1";

    public string UserArn(string name) => $"arn:aws:iam::{AccountId}:user/{name}";

    /// <summary>The ARN of whoever signs in under <paramref name="principalName"/>: a user, or a role session (<c>arn:aws:sts::…:assumed-role/…</c>).</summary>
    public string CallerArn(string principalName) =>
        PrincipalNames.TryGetRole(principalName, out _) ? $"arn:aws:sts::{AccountId}:{principalName}" : UserArn(principalName);

    public string GroupArn(string name) => $"arn:aws:iam::{AccountId}:group/{name}";

    public string RoleArn(string name) => $"arn:aws:iam::{AccountId}:role/{name}";

    public string PolicyArn(string name) => $"arn:aws:iam::{AccountId}:policy/{name}";

    public string RepositoryArn(string repository) => $"arn:aws:ecr:{Region}:{AccountId}:repository/{repository}";

    /// <summary>The resource of registry-wide actions (the catalog).</summary>
    public string TaskArn(string cluster, string taskId) => $"arn:aws:ecs:{Region}:{AccountId}:task/{cluster}/{taskId}";

    public string RegistryArn => $"arn:aws:ecr:{Region}:{AccountId}:repository/*";
}
