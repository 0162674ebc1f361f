namespace Registry.Iam;

/// <summary>The ECR actions policies name, and how the Docker token flow's actions map onto them.</summary>
internal static class EcrActions
{
    public const string BatchGetImage = "ecr:BatchGetImage";
    public const string GetDownloadUrlForLayer = "ecr:GetDownloadUrlForLayer";
    public const string BatchCheckLayerAvailability = "ecr:BatchCheckLayerAvailability";
    public const string InitiateLayerUpload = "ecr:InitiateLayerUpload";
    public const string UploadLayerPart = "ecr:UploadLayerPart";
    public const string CompleteLayerUpload = "ecr:CompleteLayerUpload";
    public const string PutImage = "ecr:PutImage";
    public const string BatchDeleteImage = "ecr:BatchDeleteImage";
    public const string ListImages = "ecr:ListImages";
    public const string DescribeRepositories = "ecr:DescribeRepositories";

    private static readonly string[] Pull = [BatchGetImage, GetDownloadUrlForLayer, BatchCheckLayerAvailability, ListImages];
    private static readonly string[] Push = [InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload, PutImage];
    private static readonly string[] Delete = [BatchDeleteImage];
    private static readonly string[] Catalog = [DescribeRepositories];

    /// <summary>
    /// The ECR actions behind a token-flow action. A token grants the Docker action when policies allow
    /// any of them; each request is then checked for the exact ECR action it performs.
    /// </summary>
    public static IReadOnlyList<string> BehindDockerAction(string type, string action) => (type, action) switch
    {
        ("repository", "pull") => Pull,
        ("repository", "push") => Push,
        ("repository", "delete") => Delete,
        ("registry", "*") => Catalog,
        _ => [],
    };
}
