using System.Text.Json;
using Registry.Core.Errors;

namespace Registry.Distribution;

/// <summary>Writes the distribution spec's error body, <c>{"errors":[{"code","message","detail"}]}</c>.</summary>
internal static class OciResponses
{
    public static async Task WriteErrorAsync(HttpContext context, OciError error)
    {
        var response = context.Response;
        response.StatusCode = error.HttpStatus;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        response.ContentType = "application/json";
        await using var writer = new Utf8JsonWriter(response.BodyWriter);
        writer.WriteStartObject();
        writer.WriteStartArray("errors");
        writer.WriteStartObject();
        writer.WriteString("code", error.CodeName);
        writer.WriteString("message", error.Message);
        if (error.Detail is not null)
        {
            writer.WriteString("detail", error.Detail);
        }

        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(context.RequestAborted);
    }

    public static OciError MethodNotAllowed(string method) =>
        new(OciErrorCode.Unsupported, "the operation is unsupported", $"method {method} is not allowed here", 405);

    /// <summary>An error response if nothing was sent yet; otherwise the connection is cut, so a client never takes a partial body for a whole one.</summary>
    public static async Task FailAsync(HttpContext context, OciError error, string? retryAfterSeconds = null)
    {
        if (context.Response.HasStarted)
        {
            context.Abort();
            return;
        }

        context.Response.Clear();
        if (retryAfterSeconds is not null)
        {
            context.Response.Headers.RetryAfter = retryAfterSeconds;
        }

        await WriteErrorAsync(context, error);
    }
}
