namespace Registry.Iam;

/// <summary>An IAM operation that cannot be done, as AWS names it (<c>NoSuchEntity</c>, <c>EntityAlreadyExists</c>, <c>MalformedPolicyDocument</c>, <c>ValidationError</c>).</summary>
public sealed class IamException : Exception
{
    public IamException(string type, string message, int status)
        : base(message)
    {
        Type = type;
        Status = status;
    }

    public IamException()
    {
        Type = "ServiceFailure";
    }

    public IamException(string message)
        : base(message) => Type = "ServiceFailure";

    public IamException(string message, Exception innerException)
        : base(message, innerException) => Type = "ServiceFailure";

    public string Type { get; }

    public int Status { get; } = 500;

    public static IamException NoSuchEntity(string what) => new("NoSuchEntity", $"{what} does not exist", 404);

    public static IamException AlreadyExists(string what) => new("EntityAlreadyExists", $"{what} already exists", 409);

    public static IamException Invalid(string message) => new("ValidationError", message, 400);
}
