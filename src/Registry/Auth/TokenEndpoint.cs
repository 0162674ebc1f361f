using System.Security.Claims;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;

using Registry.Iam;

namespace Registry.Auth;

/// <summary>
/// <c>/token</c>: the Docker token flow (https://distribution.github.io/distribution/spec/auth/token/).
/// GET with Basic credentials (or none, for anonymous access) and <c>scope</c> parameters; POST is the
/// OAuth2 password grant (https://distribution.github.io/distribution/spec/auth/oauth/). Each scope is
/// granted only the actions the authorizer allows; unknown or disallowed scopes are granted nothing
/// rather than failing, as the spec asks.
/// </summary>
internal static class TokenEndpoint
{
    public static IEndpointRouteBuilder MapTokenEndpoint(this IEndpointRouteBuilder app)
    {
        app.MapGet("/token", (Delegate)((HttpContext context) => IssueAsync(context, context.Request.Query["scope"].SelectMany(SplitScopes))));
        app.MapPost("/token", (Delegate)IssueFromFormAsync).DisableAntiforgery();
        return app;
    }

    private static async Task<IResult> IssueFromFormAsync(HttpContext context)
    {
        if (!context.Request.HasFormContentType)
        {
            return OAuthError("invalid_request", "send application/x-www-form-urlencoded");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        if (form["grant_type"] != "password")
        {
            return OAuthError("unsupported_grant_type", "only the password grant is supported");
        }

        var signIn = context.RequestServices.GetRequiredService<PasswordSignIn>();
        string name = form["username"].ToString(), password = form["password"].ToString();
        if (name.Length == 0 || await signIn.SignInAsync(name, password, context.RequestAborted) is not { } signedIn)
        {
            return Results.Json(new OAuthErrorResponse("invalid_grant", "invalid username or password"), TokenJson.Default.OAuthErrorResponse, statusCode: 401);
        }

        var user = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, signedIn)], BasicAuthenticationHandler.SchemeName, ClaimTypes.Name, ClaimTypes.Role));
        return await GrantAsync(context, user, form["scope"].SelectMany(SplitScopes));
    }

    private static async Task<IResult> IssueAsync(HttpContext context, IEnumerable<string> scopes)
    {
        var result = await context.AuthenticateAsync(BasicAuthenticationHandler.SchemeName);
        if (result.Failure is not null)
        {
            context.Response.Headers.WWWAuthenticate = "Basic realm=\"registry\"";
            return Results.Json(
                new TokenErrorResponse([new TokenError("UNAUTHORIZED", "invalid username or password")]),
                TokenJson.Default.TokenErrorResponse,
                statusCode: 401);
        }

        // Without credentials the caller is anonymous: it is granted what policies naming "Principal": "*" allow, often nothing.
        var user = result.Principal ?? new ClaimsPrincipal(new ClaimsIdentity());
        return await GrantAsync(context, user, scopes);
    }

    private static async Task<IResult> GrantAsync(HttpContext context, ClaimsPrincipal user, IEnumerable<string> scopes)
    {
        var authorizer = context.RequestServices.GetRequiredService<PolicyAuthorizer>();
        var issuer = context.RequestServices.GetRequiredService<TokenIssuer>();
        var granted = new List<AccessScope>();
        foreach (var text in scopes)
        {
            if (!AccessScope.TryParse(text, out var requested) || requested is null)
            {
                return OAuthError("invalid_scope", $"malformed scope '{text}'");
            }

            var actions = await authorizer.GrantAsync(user, requested, context);
            if (actions.Count > 0)
            {
                granted.Add(requested with { Actions = actions });
            }
        }

        var (token, issuedAt, lifetime) = issuer.Issue(user.Identity?.Name, granted);
        context.Response.Headers.CacheControl = "no-store";
        return Results.Json(
            new TokenResponse(token, token, (int)lifetime.TotalSeconds, issuedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)),
            TokenJson.Default.TokenResponse);
    }

    private static IEnumerable<string> SplitScopes(string? value) =>
        (value ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static IResult OAuthError(string error, string description) =>
        Results.Json(new OAuthErrorResponse(error, description), TokenJson.Default.OAuthErrorResponse, statusCode: 400);
}

internal sealed record TokenResponse(
    [property: JsonPropertyName("token")] string Token,
    [property: JsonPropertyName("access_token")] string AccessToken,
    [property: JsonPropertyName("expires_in")] int ExpiresIn,
    [property: JsonPropertyName("issued_at")] string IssuedAt);

internal sealed record TokenError([property: JsonPropertyName("code")] string Code, [property: JsonPropertyName("message")] string Message);

internal sealed record TokenErrorResponse([property: JsonPropertyName("errors")] IReadOnlyList<TokenError> Errors);

internal sealed record OAuthErrorResponse([property: JsonPropertyName("error")] string Error, [property: JsonPropertyName("error_description")] string Description);

[JsonSerializable(typeof(TokenResponse))]
[JsonSerializable(typeof(TokenErrorResponse))]
[JsonSerializable(typeof(OAuthErrorResponse))]
internal sealed partial class TokenJson : JsonSerializerContext;
