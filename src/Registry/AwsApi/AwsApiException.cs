namespace Registry.AwsApi;

/// <summary>An error of an AWS JSON API, answered as <c>{"__type": Type, "message": Message}</c>, the shape the AWS CLI reads.</summary>
public sealed class AwsApiException : Exception
{
    public AwsApiException(string type, string message, int status = 400)
        : base(message)
    {
        Type = type;
        Status = status;
    }

    public AwsApiException()
    {
        Type = "InternalFailure";
    }

    public AwsApiException(string message)
        : base(message) => Type = "InternalFailure";

    public AwsApiException(string message, Exception innerException)
        : base(message, innerException) => Type = "InternalFailure";

    public string Type { get; }

    public int Status { get; } = 500;

    public static AwsApiException InvalidParameter(string message) => new("InvalidParameterException", message);
}
