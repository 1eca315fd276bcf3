// Package worklib is a workspace module the app uses.
package worklib

// Greeting is printed by the app.
const Greeting = "hello from the workspace"
