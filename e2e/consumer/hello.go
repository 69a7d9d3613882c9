// Command hello is the program the consumer's image ships.
package main

import "fmt"

func main() {
	fmt.Println("hello from a StageX consumer")
}
