package push

import (
	"errors"
	"strings"
)

// Target returns the repository stagex-push's flags name: repository, or
// namespace ("HOST[:PORT]/NAMESPACE") joined with imageName; repository and
// namespace at once is an error.
func Target(repository, namespace, imageName string) (string, error) {
	switch {
	case repository != "" && namespace != "":
		return "", errors.New("give --repository or --namespace, not both")
	case repository != "":
		return repository, nil
	case namespace != "":
		if imageName == "" {
			return "", errors.New("--namespace needs --image-name (the image's published name, e.g. core-busybox)")
		}
		return strings.TrimSuffix(namespace, "/") + "/" + imageName, nil
	}
	return "", errors.New("say where to push: --repository HOST/NAMESPACE/NAME or --namespace HOST/NAMESPACE")
}
