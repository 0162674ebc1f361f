using System.Text.Json;
using System.Text.Json.Serialization;
using Registry.Observability;

namespace Registry.AwsApi;

/// <summary>One AWS JSON 1.1 service: the X-Amz-Target prefix that selects it, its SigV4 signing name, and its operations.</summary>
internal interface IAwsJsonService
{
    /// <summary>E.g. <c>AmazonEC2ContainerRegistry_V20150921.</c>.</summary>
    string TargetPrefix { get; }

    /// <summary>The service in the SigV4 credential scope, e.g. <c>ecr</c>.</summary>
    string SigningName { get; }

    /// <summary>Runs an operation; null when the service has no such operation.</summary>
    Task<object>? Invoke(string operation, AwsCall call);

    /// <summary>The ARN an operation acts on, for the audit log (from the request's members).</summary>
    string AuditResource(string operation, JsonElement body);
}

/// <summary>An authenticated call: the request, its signer and its JSON body.</summary>
internal sealed record AwsCall(HttpContext Context, System.Security.Claims.ClaimsPrincipal User, JsonElement Body);

/// <summary>
/// <c>POST /</c> with <c>X-Amz-Target: &lt;Service&gt;.&lt;Operation&gt;</c> and <c>application/x-amz-json-1.1</c>
/// bodies, signed with SigV4: the protocol of ECR and ECS. Errors are <c>{"__type", "message"}</c>; bad
/// JSON is a SerializationException and an unknown target an UnknownOperationException, never a 500.
/// </summary>
internal static class AwsJsonApi
{
    public const string ContentType = "application/x-amz-json-1.1";

    /// <summary>The largest request body read (UploadLayerPart carries layer bytes in base64).</summary>
    private const int MaxBodyBytes = 64 * 1024 * 1024;

    private static readonly JsonSerializerOptions Output = new() { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public static IEndpointRouteBuilder MapAwsJsonApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/", HandleAsync).DisableAntiforgery();
        return app;
    }

    private static async Task HandleAsync(HttpContext context)
    {
        IAwsJsonService? service = null;
        var operation = "";
        JsonElement? request = null;
        try
        {
            var target = context.Request.Headers["X-Amz-Target"].ToString();
            var services = context.RequestServices.GetServices<IAwsJsonService>();
            service = services.FirstOrDefault(s => target.StartsWith(s.TargetPrefix, StringComparison.Ordinal))
                      ?? throw new AwsApiException("UnknownOperationException", target.Length == 0 ? "X-Amz-Target is required" : $"unknown target '{target}'");
            operation = target[service.TargetPrefix.Length..];
            var body = await ReadBodyAsync(context);
            var user = await context.RequestServices.GetRequiredService<SigV4Authenticator>().AuthenticateAsync(context, body, service.SigningName);
            context.User = user;
            request = Parse(body);
            var call = new AwsCall(context, user, request.Value);
            var result = service.Invoke(operation, call) ?? throw new AwsApiException("UnknownOperationException", $"unknown operation '{operation}'");
            RequestTelemetry.Describe(context, $"{service.SigningName} {operation}");
            var response = await result;
            context.Response.ContentType = ContentType;
            await JsonSerializer.SerializeAsync(context.Response.Body, response, response.GetType(), Output, context.RequestAborted);
            if (!IsReadOnly(operation))
            {
                Audit(context, service, operation, request, "Allowed", null);
            }
        }
        catch (AwsApiException e)
        {
            context.Response.StatusCode = e.Status;
            context.Response.ContentType = ContentType;
            await JsonSerializer.SerializeAsync(context.Response.Body, new Dictionary<string, string> { ["__type"] = e.Type, ["message"] = e.Message }, Output, context.RequestAborted);
            if (service is not null && (!IsReadOnly(operation) || IsDenial(e.Type)))
            {
                Audit(context, service, operation, request, IsDenial(e.Type) ? "Denied" : "Failed", e.Type);
            }
        }
    }

    private static bool IsReadOnly(string operation) =>
        operation.StartsWith("Get", StringComparison.Ordinal) || operation.StartsWith("Describe", StringComparison.Ordinal)
        || operation.StartsWith("List", StringComparison.Ordinal) || operation.StartsWith("BatchGet", StringComparison.Ordinal)
        || operation.StartsWith("BatchCheck", StringComparison.Ordinal);

    private static bool IsDenial(string type) => type is "AccessDeniedException" or "MissingAuthenticationTokenException" or "IncompleteSignatureException"
        or "InvalidSignatureException" or "UnrecognizedClientException";

    private static void Audit(HttpContext context, IAwsJsonService service, string operation, JsonElement? request, string outcome, string? error) =>
        context.RequestServices.GetRequiredService<Audit.AuditLog>().Record(
            context,
            $"{service.SigningName}:{operation}",
            request is { } body ? service.AuditResource(operation, body) : "*",
            outcome,
            error);

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBodyBytes)
        {
            throw new AwsApiException("InvalidParameterException", $"the request body exceeds {MaxBodyBytes} bytes");
        }

        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.Length > MaxBodyBytes ? throw new AwsApiException("InvalidParameterException", $"the request body exceeds {MaxBodyBytes} bytes") : buffer.ToArray();
    }

    private static JsonElement Parse(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.Length == 0 ? "{}"u8.ToArray() : body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone()
                : throw new AwsApiException("SerializationException", "the request body must be a JSON object");
        }
        catch (JsonException e)
        {
            throw new AwsApiException("SerializationException", $"the request body is not valid JSON: {e.Message}");
        }
    }
}
