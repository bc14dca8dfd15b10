// Command genmodels writes the generated ResNet-18- and MobileNetV2-shaped
// ONNX models (package tests/models) into a folder: resnet18.onnx and
// mobilenetv2.onnx at ImageNet size (1x3x224x224, 1000 classes), and
// resnet18-small.onnx and mobilenetv2-small.onnx (1x3x32x32, 10 classes,
// narrow). effc bench makes its own random inputs.
//
//	go run ./tests/models/genmodels -o out/models
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/effc/effc/ir"
	"github.com/effc/effc/tests/models"
)

func main() {
	out := flag.String("o", "out/models", "write the models into `DIR`")
	flag.Parse()
	if err := write(*out); err != nil {
		fmt.Fprintln(os.Stderr, "genmodels:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, m := range []struct {
		file  string
		build func(models.Config) (*ir.Graph, error)
		cfg   models.Config
	}{
		{"resnet18.onnx", models.ResNet18, models.ImageNet},
		{"mobilenetv2.onnx", models.MobileNetV2, models.ImageNet},
		{"resnet18-small.onnx", models.ResNet18, models.SmallResNet},
		{"mobilenetv2-small.onnx", models.MobileNetV2, models.Small},
	} {
		g, err := m.build(m.cfg)
		if err != nil {
			return err
		}
		data, err := models.Encode(g)
		if err != nil {
			return err
		}
		path := filepath.Join(dir, m.file)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%d bytes)\n", path, len(data))
	}
	return nil
}
