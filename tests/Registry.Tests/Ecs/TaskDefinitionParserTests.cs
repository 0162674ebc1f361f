using System.Text.Json;
using Registry.Scheduler.TaskDefinitions;

namespace Registry.Tests.Ecs;

public sealed class TaskDefinitionParserTests
{
    [Theory]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":64,"colour":"red"}]}""", "Unknown parameter in containerDefinitions[0]: \"colour\"")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":64}],"launchMode":"fast"}""", "Unknown parameter in input: \"launchMode\"")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","memory":64}]}""", "Container.image should not be null or empty")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":-5}]}""", "memory and memoryReservation must be positive")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":64},{"name":"a","image":"y","memory":64}]}""", "Duplicate container name 'a'")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x"}]}""", "At least one of 'memory' or 'memoryReservation' must be specified")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":64,"essential":false}]}""", "does not have any essential container")]
    [InlineData("""{"family":"web","containerDefinitions":[]}""", "Container list cannot be empty")]
    [InlineData("""{"family":"web app","containerDefinitions":[{"name":"a","image":"x","memory":64}]}""", "Family contains invalid characters")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":64,"portMappings":[{"containerPort":70000}]}]}""", "Invalid containerPort")]
    [InlineData("""{"family":"web","networkMode":"host","containerDefinitions":[{"name":"a","image":"x","memory":64,"portMappings":[{"containerPort":80,"hostPort":8080}]}]}""", "must equal its containerPort")]
    [InlineData("""{"family":"web","cpu":"lots","containerDefinitions":[{"name":"a","image":"x","memory":64}]}""", "Invalid 'cpu' setting")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":64,"memoryReservation":128}]}""", "memoryReservation must be less than or equal to memory")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":64,"healthCheck":{"command":["CMD-SHELL","true"],"interval":1}}]}""", "healthCheck interval of container 'a' must be from 5 to 300")]
    [InlineData("""{"family":"web","containerDefinitions":[{"name":"a","image":"x","memory":64,"healthCheck":{"command":[]}}]}""", "needs a command list")]
    public void A_definition_ecs_would_refuse_is_a_client_exception(string json, string message)
    {
        using var request = JsonDocument.Parse(json);

        var error = Assert.Throws<TaskDefinitionException>(() => TaskDefinitionParser.Parse(request.RootElement));

        Assert.Equal("ClientException", error.Type);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Defaults_are_filled_in_as_ecs_describes_them()
    {
        using var request = JsonDocument.Parse("""
            {"family":"web","networkMode":"host","cpu":"0.5 vCPU","memory":"1 GB",
             "containerDefinitions":[{"name":"app","image":"registry/app:1","portMappings":[{"containerPort":8080}],"command":["serve"]},
                                     {"name":"sidecar","image":"registry/log:1","essential":false}]}
            """);

        var (family, document) = TaskDefinitionParser.Parse(request.RootElement);

        Assert.Equal("web", family);
        Assert.Equal("512", document["cpu"]!.GetValue<string>());
        Assert.Equal("1024", document["memory"]!.GetValue<string>());
        var app = document["containerDefinitions"]![0]!;
        Assert.True(app["essential"]!.GetValue<bool>());
        Assert.Equal(0, app["cpu"]!.GetValue<int>());
        Assert.Equal(8080, app["portMappings"]![0]!["hostPort"]!.GetValue<int>());
        Assert.Equal("tcp", app["portMappings"]![0]!["protocol"]!.GetValue<string>());
        Assert.False(document["containerDefinitions"]![1]!["essential"]!.GetValue<bool>());
    }

    [Fact]
    public void A_health_check_gets_ecs_defaults()
    {
        using var request = JsonDocument.Parse("""
            {"family":"web","containerDefinitions":[{"name":"app","image":"x","memory":64,"healthCheck":{"command":["CMD-SHELL","wget -q localhost"],"retries":5}}]}
            """);

        var check = TaskDefinitionParser.Parse(request.RootElement).Document["containerDefinitions"]![0]!["healthCheck"]!;

        Assert.Equal(30, check["interval"]!.GetValue<int>());
        Assert.Equal(5, check["timeout"]!.GetValue<int>());
        Assert.Equal(5, check["retries"]!.GetValue<int>());
        Assert.Equal(0, check["startPeriod"]!.GetValue<int>());
        Assert.Equal("CMD-SHELL", check["command"]![0]!.GetValue<string>());
    }
}
