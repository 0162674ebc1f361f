using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Registry.Data.Sqlite.Migrations
{
    /// <inheritdoc />
    public partial class Services : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "Services",
                columns: table => new
                {
                    Id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    ClusterId = table.Column<long>(type: "INTEGER", nullable: false),
                    Name = table.Column<string>(type: "TEXT", maxLength: 255, nullable: false),
                    Status = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    TaskDefinitionId = table.Column<long>(type: "INTEGER", nullable: false),
                    DesiredCount = table.Column<int>(type: "INTEGER", nullable: false),
                    MinimumHealthyPercent = table.Column<int>(type: "INTEGER", nullable: false),
                    MaximumPercent = table.Column<int>(type: "INTEGER", nullable: false),
                    CircuitBreakerEnabled = table.Column<bool>(type: "INTEGER", nullable: false),
                    CircuitBreakerRollback = table.Column<bool>(type: "INTEGER", nullable: false),
                    PlacementStrategy = table.Column<string>(type: "TEXT", nullable: false),
                    PlacementConstraints = table.Column<string>(type: "TEXT", nullable: false),
                    Deployments = table.Column<string>(type: "TEXT", nullable: false),
                    Events = table.Column<string>(type: "TEXT", nullable: false),
                    CreatedBy = table.Column<string>(type: "TEXT", maxLength: 512, nullable: false),
                    CreatedAt = table.Column<DateTime>(type: "TEXT", nullable: false),
                    Version = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_Services", x => x.Id);
                    table.ForeignKey(
                        name: "FK_Services_Clusters_ClusterId",
                        column: x => x.ClusterId,
                        principalTable: "Clusters",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                    table.ForeignKey(
                        name: "FK_Services_TaskDefinitions_TaskDefinitionId",
                        column: x => x.TaskDefinitionId,
                        principalTable: "TaskDefinitions",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Restrict);
                });

            migrationBuilder.CreateIndex(
                name: "IX_Services_ClusterId_Name",
                table: "Services",
                columns: new[] { "ClusterId", "Name" });

            migrationBuilder.CreateIndex(
                name: "IX_Services_Status",
                table: "Services",
                column: "Status");

            migrationBuilder.CreateIndex(
                name: "IX_Services_TaskDefinitionId",
                table: "Services",
                column: "TaskDefinitionId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "Services");
        }
    }
}
